"""A resync job enqueues one user.snapshot per user in scope through the outbox, in batches; it
resumes from its cursor, stops when cancelled, and waits while the outbox's backlog is too big."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from pubsub.models import QueuePublishHistory
from users.models import User, UserResyncJob
from users.services.resync import user_resync_job_run
from users.services.resync_jobs import user_resync_job_cancel, user_resync_job_create
from users.sync_payload import USER_SNAPSHOT
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

Status = UserResyncJob.Status


class Crash(BaseException):
    """Stands for the process dying: nothing in the job catches it."""


@pytest.fixture
def queue(settings):
    return settings.USER_SYNC_QUEUES[0]


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.USER_RESYNC_BATCH_SIZE = 2
    settings.USER_RESYNC_OUTBOX_BACKLOG_MAX = 0
    settings.USER_RESYNC_QUEUE_DEPTH_MAX = 0


def snapshots():
    return QueuePublishHistory.objects.filter(message_type=USER_SNAPSHOT).order_by("id")


def snapshot_ids():
    return [row.message_body_json["source_id"] for row in snapshots()]


def new_job(queue, **kwargs):
    return user_resync_job_create(queue=queue, background=False, **{"scope": UserResyncJob.Scope.ALL} | kwargs)


def test_resync_enqueues_one_snapshot_per_user(queue):
    users = UserFactory.create_batch(5)
    job = user_resync_job_run(job_id=new_job(queue).pk)

    assert (job.status, job.total, job.enqueued) == (Status.DONE, 5, 5)
    assert snapshot_ids() == [user.pk for user in users]
    assert {row.queue_name for row in snapshots()} == {queue}
    assert job.cursor == users[-1].pk


def test_snapshot_carries_the_password_hash_never_the_password(queue):
    user = UserFactory()
    user_resync_job_run(job_id=new_job(queue).pk)

    body = snapshots().get().message_body_json
    assert body["type"] == USER_SNAPSHOT
    assert body["user"]["password"] == User.objects.get(pk=user.pk).password
    assert DEFAULT_PASSWORD not in str(body)


def test_resync_resumes_from_its_cursor_after_a_crash(queue):
    users = UserFactory.create_batch(5)
    job = new_job(queue)

    def crash_after_first_batch(job):
        raise Crash

    with pytest.raises(Crash):
        user_resync_job_run(job_id=job.pk, on_progress=crash_after_first_batch)
    assert UserResyncJob.objects.get(pk=job.pk).status == Status.RUNNING
    assert len(snapshot_ids()) == 2

    resumed = user_resync_job_run(job_id=job.pk)

    assert (resumed.status, resumed.enqueued) == (Status.DONE, 5)
    assert snapshot_ids() == [user.pk for user in users]


def test_cancelled_resync_stops_after_the_current_batch(queue):
    UserFactory.create_batch(5)
    job = new_job(queue)

    job = user_resync_job_run(job_id=job.pk, on_progress=lambda job: user_resync_job_cancel(job=job))

    assert (job.status, job.enqueued) == (Status.CANCELLED, 2)
    assert len(snapshot_ids()) == 2


def test_resync_waits_while_the_outbox_backlog_is_above_the_bound(queue, settings):
    UserFactory.create_batch(6)
    QueuePublishHistory.objects.update(status=QueuePublishHistory.Status.PUBLISHED)
    settings.USER_RESYNC_OUTBOX_BACKLOG_MAX = 3
    pending_when_enqueued = []
    waits = []

    def relay_publishes_everything(seconds):
        waits.append(seconds)
        QueuePublishHistory.objects.update(status=QueuePublishHistory.Status.PUBLISHED)

    def record(job):
        pending_when_enqueued.append(QueuePublishHistory.objects.filter(status="pending").count())

    job = user_resync_job_run(job_id=new_job(queue).pk, on_progress=record, wait=relay_publishes_everything)

    assert (job.status, job.enqueued) == (Status.DONE, 6)
    assert waits
    assert max(pending_when_enqueued) <= 3 + settings.USER_RESYNC_BATCH_SIZE


def test_resync_waits_while_the_receivers_queue_holds_more_than_its_bound(rabbit, settings):
    UserFactory.create_batch(4)
    rabbit.declare()
    channel = rabbit.channel()
    for _ in range(5):
        channel.basic_publish(rabbit.route.exchange, rabbit.route.queue, b"{}")
    settings.USER_RESYNC_QUEUE_DEPTH_MAX = 3
    waits = []

    def consumer_catches_up(seconds):
        waits.append(rabbit.message_count(rabbit.route.queue))
        rabbit.channel().queue_purge(rabbit.route.queue)

    job = user_resync_job_run(job_id=new_job(rabbit.route.queue).pk, wait=consumer_catches_up)

    assert (job.status, job.enqueued) == (Status.DONE, 4)
    assert waits == [5]


def test_resync_of_selected_ids_and_ranges(queue):
    users = UserFactory.create_batch(6)
    by_ids = new_job(queue, scope=UserResyncJob.Scope.IDS, ids=[users[1].pk, users[4].pk])
    by_range = new_job(queue, scope=UserResyncJob.Scope.RANGES, ranges=[[users[2].pk, users[3].pk]])

    user_resync_job_run(job_id=by_ids.pk)
    user_resync_job_run(job_id=by_range.pk)

    assert snapshot_ids() == [users[1].pk, users[4].pk, users[2].pk, users[3].pk]


def test_resync_of_users_changed_since_a_date(queue):
    old, recent = UserFactory.create_batch(2)
    User.objects.filter(pk=old.pk).update(updated_at=timezone.now() - datetime.timedelta(days=3))

    job = new_job(queue, scope=UserResyncJob.Scope.SINCE, since=timezone.now() - datetime.timedelta(days=1))
    user_resync_job_run(job_id=job.pk)

    assert snapshot_ids() == [recent.pk]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"queue": "somewhere-else"}, "is not one of this deployment's user sync queues"),
        ({"scope": "since"}, "needs the date"),
        ({"scope": "ids"}, "no user selected"),
        ({"scope": "ranges", "ranges": [[5, 2]]}, "first <= last"),
        ({"scope": "everything"}, "unknown resync scope"),
    ],
)
def test_resync_refuses_bad_input(queue, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        user_resync_job_create(**{"queue": queue, "scope": "all", "background": False} | kwargs)
    assert not UserResyncJob.objects.exists()


def test_resync_job_is_audited(queue):
    from auditlog.models import LogEntry

    job = user_resync_job_run(job_id=new_job(queue).pk)

    entries = LogEntry.objects.get_for_object(job)
    assert {entry.action for entry in entries} == {LogEntry.Action.CREATE, LogEntry.Action.UPDATE}


def test_background_resync_is_a_scheduled_task(queue):
    from background_task.models import Task

    job = user_resync_job_create(queue=queue, scope=UserResyncJob.Scope.ALL)

    assert Task.objects.get(task_name="users.tasks.resync_users").verbose_name == f"user resync #{job.pk}"


def test_command_resyncs_in_the_foreground_with_a_progress_bar(queue):
    UserFactory.create_batch(3)
    out = io.StringIO()

    call_command("users_resync", "--queue", queue, "--all", stdout=out)

    assert "] 3/3" in out.getvalue()
    assert "done: 3 snapshots in the outbox" in out.getvalue()
    assert len(snapshot_ids()) == 3


def test_command_resumes_an_interrupted_job(queue):
    UserFactory.create_batch(3)
    job = new_job(queue)
    UserResyncJob.objects.filter(pk=job.pk).update(status=Status.FAILED)

    call_command("users_resync", "--resume", str(job.pk), stdout=io.StringIO())

    assert len(snapshot_ids()) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--all"], "--queue is required"),
        (["--queue", "{queue}", "--since", "yesterday"], "is not an ISO 8601 date"),
        (["--queue", "{queue}", "--ranges", "a-b"], "is not FIRST-LAST"),
        (["--queue", "nowhere", "--all"], "is not one of this deployment's user sync queues"),
        (["--resume", "999999"], "no interrupted or failed resync job"),
    ],
)
def test_command_refuses_bad_input_with_a_clear_message(queue, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("users_resync", *[arg.format(queue=queue) for arg in args], stdout=io.StringIO())
