"""The dashboard's worker buttons: POST only, CSRF-protected, each checking its own permission on
the server, each doing its bounded job and telling the result."""

from datetime import timedelta

import pika
import pytest
from background_task.models import CompletedTask, Task
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from ops_admin import admin_tokens, views
from pubsub import services as pubsub_services
from pubsub.conf import user_sync_routes
from pubsub.models import QueuePublishHistory
from pubsub.outbox import queue_msg_to_publish
from scheduler.services import DueTasksRun
from users.models import UserAPIHitLog
from users.tests.factories import UserFactory

Status = QueuePublishHistory.Status
pytestmark = pytest.mark.django_db

# (URL name, the permission it needs, the service it calls in ops_admin.views)
BUTTONS = [
    ("publish_due_now", "pubsub.publish_queuepublishhistory", "outbox_publish_due_now"),
    ("drain_deadletters_now", "ops_admin.run_workers", "deadletter_drain_now"),
    ("run_scheduled_tasks_now", "ops_admin.run_scheduled_tasks", "tasks_run_due"),
    ("flush_tokens_now", "ops_admin.flush_tokens", "tokens_flush_expired"),
    ("purge_api_hits_now", "ops_admin.purge_api_hits", "api_hits_purge_expired"),
]
button_names = [name for name, _, _ in BUTTONS]
# what each service returns when nothing was there to do
NOTHING_DONE = {
    "outbox_publish_due_now": (0, 0),
    "deadletter_drain_now": (0, 0),
    "tasks_run_due": DueTasksRun(ran=0, failed=0, left=0),
    "tokens_flush_expired": 0,
    "api_hits_purge_expired": 0,
}


def staff_with(*perms):
    user = UserFactory(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def url(name):
    return reverse(f"ops_admin:{name}")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def service_calls(monkeypatch):
    """Replaces every button's service by a recorder: which ones were called."""
    calls = []
    for _, _, service in BUTTONS:

        def record(*args, _service=service, **kwargs):
            calls.append(_service)
            return NOTHING_DONE[_service]

        # each service where the button's code looks it up
        for module in (views, admin_tokens, pubsub_services):
            if hasattr(module, service):
                monkeypatch.setattr(module, service, record)
    return calls


def make_row(**fields):
    row = queue_msg_to_publish(route=user_sync_routes()[0], body={"n": 1}, message_type="test.message")
    QueuePublishHistory.objects.filter(pk=row.pk).update(**fields)
    return row


# -- what every button shares ----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "perm", "service"), BUTTONS, ids=button_names)
def test_button_without_its_permission_is_refused_and_does_nothing(client, service_calls, name, perm, service):
    others = [other for _, other, _ in BUTTONS if other != perm]
    client.force_login(staff_with("ops_admin.view_dashboard", *others))

    response = client.post(url(name))

    assert response.status_code == 403
    assert service not in service_calls


@pytest.mark.parametrize(("name", "perm", "service"), BUTTONS, ids=button_names)
def test_button_refuses_get(client, service_calls, name, perm, service):
    client.force_login(staff_with(perm))

    response = client.get(url(name))

    assert response.status_code == 405
    assert service_calls == []


@pytest.mark.parametrize(("name", "perm", "service"), BUTTONS, ids=button_names)
def test_button_needs_the_csrf_token(service_calls, name, perm, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_with(perm))

    response = client.post(url(name))

    assert response.status_code == 403
    assert service_calls == []


@pytest.mark.parametrize(("name", "perm", "service"), BUTTONS, ids=button_names)
def test_button_accepts_a_post_with_the_csrf_token(service_calls, name, perm, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_with("ops_admin.view_dashboard", perm))
    token = client.get(reverse("admin:index")).cookies["csrftoken"].value

    response = client.post(url(name), {"csrfmiddlewaretoken": token})

    assert (response.status_code, service_calls) == (302, [service])


def test_button_sends_anonymous_users_to_login(client, service_calls):
    response = client.post(url("publish_due_now"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert service_calls == []


def test_button_refuses_non_staff_users(client, service_calls):
    user = UserFactory(is_staff=False, is_superuser=False)
    client.force_login(user)

    client.post(url("flush_tokens_now"))

    assert service_calls == []


# -- each button's job -------------------------------------------------------------------------------
def test_publish_button_publishes_due_rows(client, rabbit):
    client.force_login(staff_with("pubsub.publish_queuepublishhistory"))
    row = make_row()
    due = QueuePublishHistory.objects.filter(status=Status.PENDING).count()

    response = client.post(url("publish_due_now"), follow=True)

    row.refresh_from_db()
    assert row.status == Status.PUBLISHED
    assert messages_of(response) == [f"Published {due} due message(s); 0 failed."]


def test_publish_button_reports_an_unreachable_broker(client, settings):
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    client.force_login(staff_with("pubsub.publish_queuepublishhistory"))
    row = make_row()

    response = client.post(url("publish_due_now"), follow=True)

    row.refresh_from_db()
    assert (response.status_code, row.status) == (200, Status.PENDING)
    assert messages_of(response)[0].startswith("RabbitMQ is unreachable")


def test_drain_button_marks_dead_lettered_rows_expired(client, rabbit, wait_until_deadlettered):
    client.force_login(staff_with("ops_admin.run_workers"))
    row = wait_until_deadlettered()

    response = client.post(url("drain_deadletters_now"), follow=True)

    row.refresh_from_db()
    assert (row.status, row.expired_reason) == (Status.EXPIRED, "rejected")
    assert messages_of(response) == ["Drained 1 dead letter(s) into the outbox; 0 rejected."]


def test_drain_button_stops_at_its_bound(client, rabbit, wait_until_deadlettered, monkeypatch):
    from pubsub import services

    monkeypatch.setattr(services, "DRAIN_NOW_LIMIT", 1)
    monkeypatch.setattr(services.DeadletterConsumer, "prefetch", 1)
    client.force_login(staff_with("ops_admin.run_workers"))
    wait_until_deadlettered()
    wait_until_deadlettered()

    response = client.post(url("drain_deadletters_now"), follow=True)

    assert messages_of(response) == ["Drained 1 dead letter(s) into the outbox; 0 rejected."]
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 1


def test_drain_button_reports_an_unreachable_broker(client, settings):
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    client.force_login(staff_with("ops_admin.run_workers"))

    response = client.post(url("drain_deadletters_now"), follow=True)

    assert response.status_code == 200
    assert messages_of(response)[0].startswith("RabbitMQ is unreachable")


@pytest.fixture
def wait_until_deadlettered(rabbit):
    """An outbox row whose message sits in the dead-letter queue, as the broker put it there."""

    def _make():
        row = make_row()
        channel = rabbit.channel()
        channel.confirm_delivery()
        rabbit.declare()
        headers = {"x-death": [{"reason": b"rejected", "queue": rabbit.route.queue, "count": 1}]}
        channel.basic_publish(
            rabbit.route.deadletter_exchange,
            rabbit.route.queue,
            b"{}",
            pika.BasicProperties(message_id=str(row.message_id), headers=headers),
        )
        return row

    return _make


def test_scheduled_tasks_button_runs_due_tasks(client, one_off_task_runs):
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    response = client.post(url("run_scheduled_tasks_now"), follow=True)

    assert one_off_task_runs == ["ran"]
    assert messages_of(response) == ["Ran 1 due scheduled task(s); 0 failed (rescheduled)."]


def test_scheduled_tasks_button_runs_at_most_its_limit(client, monkeypatch, one_off_task_runs):
    from scheduler.tests.failing import always_fails

    monkeypatch.setattr(views, "SCHEDULED_TASKS_LIMIT", 1)
    always_fails(schedule=timezone.now() - timedelta(minutes=1))
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    response = client.post(url("run_scheduled_tasks_now"), follow=True)

    assert "Ran 1 due scheduled task(s)" in messages_of(response)[0]
    assert "1 still due" in messages_of(response)[0]


def test_scheduled_tasks_button_reports_failures(client):
    from scheduler.tests.failing import always_fails

    always_fails()
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    response = client.post(url("run_scheduled_tasks_now"), follow=True)

    assert messages_of(response) == ["Ran 1 due scheduled task(s); 1 failed (rescheduled)."]
    assert Task.objects.get(task_name="scheduler.tests.always_fails").last_error


def test_scheduled_tasks_button_leaves_the_scheduler_heartbeat_to_the_scheduler(client):
    from scheduler.tasks import scheduler_heartbeat

    scheduler_heartbeat()
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    client.post(url("run_scheduled_tasks_now"))

    assert not CompletedTask.objects.exists()
    assert Task.objects.filter(task_name="scheduler.tasks.scheduler_heartbeat").exists()


@pytest.fixture
def one_off_task_runs():
    from background_task import background

    runs = []

    @background(name="ops_admin.tests.records_runs")
    def records_runs():
        runs.append("ran")

    records_runs()
    return runs


def test_flush_tokens_button_deletes_expired_tokens_only(client):
    user = UserFactory()
    now = timezone.now()
    OutstandingToken.objects.create(
        user=user, jti="old", token="t1", created_at=now, expires_at=now - timedelta(days=1)
    )
    OutstandingToken.objects.create(
        user=user, jti="new", token="t2", created_at=now, expires_at=now + timedelta(days=1)
    )
    client.force_login(staff_with("ops_admin.flush_tokens"))

    response = client.post(url("flush_tokens_now"), follow=True)

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["new"]
    assert messages_of(response) == ["Flushed 1 expired refresh token(s)."]


def test_purge_button_deletes_hits_past_the_retention(client, settings):
    settings.API_HIT_RETENTION_DAYS = 30
    for days_ago in (40, 1):
        UserAPIHitLog.objects.create(
            method="GET",
            api_name="/api/x/",
            status_code=200,
            duration_ms=1.0,
            timestamp=timezone.now() - timedelta(days=days_ago),
        )
    client.force_login(staff_with("ops_admin.purge_api_hits"))

    response = client.post(url("purge_api_hits_now"), follow=True)

    assert UserAPIHitLog.objects.count() == 1
    assert messages_of(response) == ["Purged 1 API hit(s) older than 30 days."]


def test_purge_button_keeps_everything_when_retention_is_off(client, settings):
    settings.API_HIT_RETENTION_DAYS = 0
    UserAPIHitLog.objects.create(
        method="GET",
        api_name="/api/x/",
        status_code=200,
        duration_ms=1.0,
        timestamp=timezone.now() - timedelta(days=400),
    )
    client.force_login(staff_with("ops_admin.purge_api_hits"))

    response = client.post(url("purge_api_hits_now"), follow=True)

    assert UserAPIHitLog.objects.count() == 1
    assert "nothing purged" in messages_of(response)[0]


def test_purge_button_deletes_at_most_its_limit(client, settings, monkeypatch):
    monkeypatch.setattr(views, "DELETE_LIMIT", 2)
    settings.API_HIT_RETENTION_DAYS = 30
    settings.HOUSEKEEPING_BATCH_SIZE = 1
    for _ in range(3):
        UserAPIHitLog.objects.create(
            method="GET",
            api_name="/api/x/",
            status_code=200,
            duration_ms=1.0,
            timestamp=timezone.now() - timedelta(days=40),
        )
    client.force_login(staff_with("ops_admin.purge_api_hits"))

    client.post(url("purge_api_hits_now"))

    assert UserAPIHitLog.objects.count() == 1


def test_superuser_may_press_every_button(client, service_calls):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    statuses = [client.post(url(name)).status_code for name in button_names]

    assert (statuses, service_calls) == ([302] * len(BUTTONS), [service for _, _, service in BUTTONS])


def test_scheduled_tasks_button_leaves_a_user_import_job_to_the_scheduler(client, one_off_task_runs):
    from users.tasks import import_users

    import_users(424242, verbose_name="user import #424242")
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    response = client.post(url("run_scheduled_tasks_now"), follow=True)

    assert one_off_task_runs == ["ran"]
    assert Task.objects.filter(task_name="users.tasks.import_users", locked_by__isnull=True).exists()
    assert not CompletedTask.objects.filter(task_name="users.tasks.import_users").exists()
    assert messages_of(response) == [
        "Ran 1 due scheduled task(s); 0 failed (rescheduled). "
        "Left to the scheduler (too long for a request): user import #424242."
    ]


def test_scheduled_tasks_button_starts_no_task_after_its_time_budget(client, monkeypatch, one_off_task_runs):
    monkeypatch.setattr(views, "SCHEDULED_TASKS_MAX_SECS", 0)
    client.force_login(staff_with("ops_admin.run_scheduled_tasks"))

    response = client.post(url("run_scheduled_tasks_now"), follow=True)

    assert one_off_task_runs == []
    assert "Ran 0 due scheduled task(s)" in messages_of(response)[0]
    assert "1 still due" in messages_of(response)[0]
