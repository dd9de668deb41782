"""The people of the access table, one object of every admin model, a browser per kind."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from background_task.models import CompletedTask, Task
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from ops_admin.roles import roles_apply
from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from tests.security.access_table import ANONYMOUS, API_ADMIN, AUDITOR, OPS, STAFF, SUPERUSER, SUPPORT, USER
from tests.security.walk import KindClient
from users.models import ConflictingUserSyncLog, SyncDrift, UserAPIHitLog, UserImportJob, UserResyncJob
from users.tests.factories import (
    AdminTypeUserFactory,
    StaffUserFactory,
    SuperuserFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _broker_down_and_fresh_throttles(settings):
    # the buttons answer "RabbitMQ is unreachable" instead of publishing the fixtures' outbox
    # rows to (or draining) the shared default queues; who may press them is what is tested here
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def people(db):
    """One user of every kind of the table (None for the anonymous visitor)."""
    roles_apply(apps=apps)
    people = {
        ANONYMOUS: None,
        USER: UserFactory(),
        API_ADMIN: AdminTypeUserFactory(),
        STAFF: StaffUserFactory(),
        SUPERUSER: SuperuserFactory(),
    }
    for role in (AUDITOR, SUPPORT, OPS):
        people[role] = StaffUserFactory()
        people[role].groups.add(Group.objects.get(name=role))
    return people


@pytest.fixture
def objects(people):
    """One object of every model the admin shows, keyed "app_label.model_name", each in a state
    its actions would change (an error outbox row, an open conflict, a waiting task...)."""
    now = timezone.now()
    target = UserFactory()
    refresh = RefreshToken.for_user(target)
    outstanding = OutstandingToken.objects.get(jti=refresh["jti"])
    blacklisted = OutstandingToken.objects.get(jti=RefreshToken.for_user(target)["jti"])
    QueuePublishHistory.objects.update(status=QueuePublishHistory.Status.PUBLISHED, next_attempt_at=None)
    outbox_row = QueuePublishHistory.objects.order_by("id").last()
    QueuePublishHistory.objects.filter(pk=outbox_row.pk).update(
        status=QueuePublishHistory.Status.ERROR,
        error_msg="broker said no",
        attempts=9,
        next_attempt_at=now + timedelta(days=1),
    )
    return {
        "users.user": target,
        "users.userimportjob": UserImportJob.objects.create(
            file_name="people.csv",
            file_format="csv",
            status=UserImportJob.Status.DONE,
            total=1,
            processed=1,
            created_by=people[SUPERUSER],
        ),
        "users.userresyncjob": UserResyncJob.objects.create(
            queue="drf_queue", scope=UserResyncJob.Scope.ALL, status=UserResyncJob.Status.RUNNING, total=1
        ),
        "users.syncdrift": SyncDrift.objects.create(
            source="other",
            range_start=0,
            range_end=999,
            queue="drf_queue",
            reply_queue="other_queue",
            source_count=3,
            local_count=2,
            last_checked_at=now,
        ),
        "users.conflictingusersynclog": ConflictingUserSyncLog.objects.create(
            message_type="user.updated",
            source="other",
            raw_body="not json",
            reason="stale version 3",
        ),
        "users.userapihitlog": UserAPIHitLog.objects.create(
            method="GET",
            api_name="/api/users/",
            status_code=200,
            duration_ms=3.0,
            timestamp=now,
        ),
        "pubsub.queuepublishhistory": outbox_row,
        "pubsub.workerheartbeat": WorkerHeartbeat.objects.create(name="producer_service", host="h", pid=1),
        "auditlog.logentry": LogEntry.objects.get_for_object(target).first(),
        "background_task.task": Task.objects.create(
            task_name="ops.tasks.nothing",
            task_params="[[], {}]",
            task_hash="0" * 40,
            run_at=now + timedelta(days=1),
        ),
        "background_task.completedtask": CompletedTask.objects.create(
            task_name="ops.tasks.nothing",
            task_params="[[], {}]",
            task_hash="0" * 40,
            run_at=now,
        ),
        "token_blacklist.outstandingtoken": outstanding,
        "token_blacklist.blacklistedtoken": BlacklistedToken.objects.create(token=blacklisted),
        "auth.group": Group.objects.get(name=AUDITOR),
        "contenttypes.contenttype": ContentType.objects.get_for_model(target),
        **lockout_objects(),
    }


def lockout_objects() -> dict:
    seen = {
        "user_agent": "curl/8",
        "ip_address": "203.0.113.7",
        "username": "mallory",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    return {
        "axes.accessattempt": AccessAttempt.objects.create(
            **seen,
            get_data="",
            post_data="username=mallory",
            failures_since_start=5,
        ),
        "axes.accesslog": AccessLog.objects.create(**seen),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**seen, locked_out=True),
    }


@pytest.fixture
def browser_of(people):
    return lambda kind: KindClient(people[kind])
