"""Drift between deployments found and repaired, end to end: three deployments on one MariaDB
server and one RabbitMQ, their daemons as real processes (one pass each, `--once`).

A (the pytest test database, driven in-process) sends its users to B on queue A→B and consumes B's
requests on queue B→A. B loses users three ways (deleted by hand, changed by hand, messages that
expired in a dead-letter queue); A's digest shows B exactly the ranges that differ, B's "Request
resync" has A resync them, and A's next digest closes B's drift rows. Then C, a new and empty
deployment, is brought up to date by one resync."""

import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from pubsub.dbclock import DatabaseNow
from pubsub.models import QueuePublishHistory
from tests.support.daemons import run_command
from tests.support.deployments import Deployment
from users.models import User, UserResyncJob
from users.services.resync import user_resync_job_run
from users.sync_payload import USER_SNAPSHOT

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

USERS = 2000
RANGE_SIZE = 100
# the soak's check: what B holds of each of A's users
COMPARED = ("username", "email", "first_name", "last_name", "password")
DEADLINE_SECS = 60

DELETE_IN_B = (
    "import os; from users.models import User; User.objects.filter(pk__in=os.environ['IDS'].split(',')).delete()"
)
EDIT_IN_B = (
    "import os; from users.models import User; "
    "User.objects.filter(pk__in=os.environ['IDS'].split(',')).update(first_name='edited in B', email='b@b.example')"
)
REQUEST_RESYNC_IN_B = (
    "import os; from users.models import SyncDrift; from users.services.drift import sync_drift_request_resync; "
    "print('asked', sync_drift_request_resync("
    "drifts=SyncDrift.objects.filter(source=os.environ['SOURCE'], closed_at__isnull=True), requested_by=None))"
)


def wait_for(condition, *, what: str, timeout: float = DEADLINE_SECS):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"still waiting after {timeout}s for {what}"
        time.sleep(0.1)
    return result


@pytest.fixture
def queues(rabbit):
    """A→B is the rabbit fixture's queue; B→A and A→C are made here, and deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"a_to_b": rabbit.route.queue, "b_to_a": f"test_ba_{suffix}", "a_to_c": f"test_ac_{suffix}"}
    yield names
    channel = rabbit.channel()
    for name in (names["b_to_a"], names["a_to_c"]):
        channel.queue_delete(name)
        channel.queue_delete(f"{name}_DLQ")


@pytest.fixture
def deployments(transactional_db, mysql_server, deployment_b_database, rabbit, queues, settings):
    from django.db import connection

    suffix = uuid.uuid4().hex[:8]
    common = {"RABBITMQ_URL": settings.RABBITMQ_URL, "USER_SYNC_EXCHANGE": rabbit.route.exchange}
    settings.DEPLOYMENT_NAME = f"a-{suffix}"
    settings.USER_SYNC_QUEUES = [queues["a_to_b"]]
    settings.USER_SYNC_CONSUME_QUEUES = [queues["b_to_a"]]
    settings.USER_SYNC_REPLY_QUEUE = queues["b_to_a"]
    settings.USER_SYNC_DIGEST_RANGE_SIZE = RANGE_SIZE
    # no relay runs beside the in-process job: it must not wait for one
    settings.USER_RESYNC_OUTBOX_BACKLOG_MAX = 0
    settings.USER_RESYNC_QUEUE_DEPTH_MAX = 0
    a = Deployment(
        settings.DEPLOYMENT_NAME,
        mysql_server,
        connection.settings_dict["NAME"],
        common | {"USER_SYNC_QUEUES": queues["a_to_b"], "USER_SYNC_CONSUME_QUEUES": queues["b_to_a"]},
    )
    b = Deployment(
        f"b-{suffix}",
        mysql_server,
        deployment_b_database,
        common | {"USER_SYNC_QUEUES": queues["b_to_a"], "USER_SYNC_CONSUME_QUEUES": queues["a_to_b"]},
    )
    c_database = f"test_opsconsole_c_{suffix}"
    mysql_server.create_database(c_database)
    c = Deployment(
        f"c-{suffix}",
        mysql_server,
        c_database,
        common | {"USER_SYNC_QUEUES": f"test_ca_{suffix}", "USER_SYNC_CONSUME_QUEUES": queues["a_to_c"]},
    )
    try:
        yield a, b, c
    finally:
        mysql_server.drop_database(c_database)


def relay(deployment):
    run_command("producer_service", "--once", env=deployment.env(), timeout=120)


def consume(deployment):
    output = run_command("user_sync_consumer", "--once", env=deployment.env(), timeout=180)
    assert "rejected 0" in output, output


def mirrored(deployment, *, source: str) -> dict[int, tuple]:
    rows = deployment.query(
        f"SELECT l.source_id, {', '.join('u.' + field for field in COMPARED)} FROM users_user u "
        "JOIN users_synceduserlink l ON l.user_id = u.id WHERE l.source = %s",
        [source],
    )
    return {row["source_id"]: tuple(row[field] for field in COMPARED) for row in rows}


def originals() -> dict[int, tuple]:
    return {pk: tuple(values) for pk, *values in User.objects.values_list("pk", *COMPARED)}


def open_drift(deployment, *, source: str) -> set[int]:
    rows = deployment.query("SELECT range_start FROM users_syncdrift WHERE source = %s AND closed_at IS NULL", [source])
    return {row["range_start"] for row in rows}


def local_ids(deployment, *, source: str, source_ids: list[int]) -> str:
    rows = deployment.query(
        f"SELECT user_id FROM users_synceduserlink WHERE source = %s AND source_id IN "
        f"({', '.join(['%s'] * len(source_ids))})",
        [source, *source_ids],
    )
    assert len(rows) == len(source_ids)
    return ",".join(str(row["user_id"]) for row in rows)


def publish_digest(a, queue: str):
    call_command("sync_digest_publish", "--queue", queue)
    relay(a)


def test_drift_is_found_by_range_and_repaired_and_a_new_deployment_joins_by_one_resync(
    deployments, queues, rabbit, settings, figures
):
    a, b, c = deployments
    users = [
        User.objects.create_user(
            username=f"{a.name}-{n:04d}",
            email=f"u{n}@a.example",
            first_name=f"First{n}",
            last_name=f"Last{n}",
            password=f"Pass-{n}-word!",
        )
        for n in range(USERS)
    ]
    deleted, edited, expired = users[150:160], users[1020:1030], users[1875:1885]
    drifted = sorted({user.pk - user.pk % RANGE_SIZE for user in deleted + edited + expired})

    # 10 messages expire in the queue: published alone with a 1 s TTL, dead-lettered, marked expired
    outbox = QueuePublishHistory.objects.filter(queue_name=queues["a_to_b"])
    expiring = outbox.filter(message_body_json__source_id__in=[user.pk for user in expired])
    expiring.update(expiration_secs=1)
    outbox.exclude(pk__in=list(expiring.values_list("pk", flat=True))).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    relay(a)
    wait_for(lambda: rabbit.message_count(rabbit.route.deadletter_queue) == 10, what="10 dead letters")
    run_command("deadletter_consumer", "--once", env=a.env())
    assert set(expiring.values_list("status", flat=True)) == {QueuePublishHistory.Status.EXPIRED}
    outbox.exclude(status=QueuePublishHistory.Status.EXPIRED).update(next_attempt_at=DatabaseNow())
    relay(a)
    consume(b)
    assert len(mirrored(b, source=a.name)) == USERS - 10

    # B loses 10 users and 10 are changed by hand
    for code, chosen in ((DELETE_IN_B, deleted), (EDIT_IN_B, edited)):
        ids = local_ids(b, source=a.name, source_ids=[user.pk for user in chosen])
        run_command("shell", "-c", code, env=b.env(IDS=ids))

    # A's digest shows B exactly the ranges that differ
    publish_digest(a, queues["a_to_b"])
    consume(b)
    assert sorted(open_drift(b, source=a.name)) == drifted
    figures("ranges in A's digest", len({user.pk - user.pk % RANGE_SIZE for user in users}))
    figures("drifted ranges found in B", len(drifted))

    # B asks A for a resync of them; A's consumer starts it
    assert f"asked {len(drifted)}" in run_command("shell", "-c", REQUEST_RESYNC_IN_B, env=b.env(SOURCE=a.name))
    relay(b)
    consume(a)
    job = UserResyncJob.objects.get()
    assert (job.scope, job.requested_for) == (UserResyncJob.Scope.RANGES, b.name)
    assert job.ids == [[start, start + RANGE_SIZE - 1] for start in drifted]
    job = user_resync_job_run(job_id=job.pk)
    assert job.status == UserResyncJob.Status.DONE
    assert job.enqueued == sum(1 for user in users if user.pk - user.pk % RANGE_SIZE in drifted)
    relay(a)
    consume(b)

    # B holds what A has, and A's next digest closes the drift rows
    assert mirrored(b, source=a.name) == originals()
    publish_digest(a, queues["a_to_b"])
    consume(b)
    assert open_drift(b, source=a.name) == set()
    closed = b.scalar("SELECT COUNT(*) FROM users_syncdrift WHERE source = %s AND closed_at IS NOT NULL", [a.name])
    assert closed == len(drifted)

    # C, new and empty, joins: one resync of every user brings it up to date
    run_command("migrate", "--noinput", env=c.env(), timeout=300)
    settings.USER_SYNC_QUEUES = [queues["a_to_b"], queues["a_to_c"]]
    call_command("users_resync", "--queue", queues["a_to_c"], "--all")
    assert QueuePublishHistory.objects.filter(queue_name=queues["a_to_c"], message_type=USER_SNAPSHOT).count() == USERS
    relay(a)
    consume(c)
    assert mirrored(c, source=a.name) == originals()
    publish_digest(a, queues["a_to_c"])
    consume(c)
    assert c.scalar("SELECT COUNT(*) FROM users_syncdrift") == 0
