"""The scheduler's own recurring tasks, run on real rows."""

from datetime import timedelta

import pytest
from background_task.models import CompletedTask
from django.utils import timezone

from pubsub.models import WorkerHeartbeat
from scheduler.tasks import purge_completed_tasks, scheduler_heartbeat

pytestmark = pytest.mark.django_db


def finished_task(*, days_ago: float, failed: bool = False) -> CompletedTask:
    run_at = timezone.now() - timedelta(days=days_ago)
    return CompletedTask.objects.create(
        task_name="some.task",
        task_params="[[], {}]",
        task_hash="x" * 40,
        run_at=run_at,
        failed_at=run_at if failed else None,
    )


def test_heartbeat_writes_the_schedulers_row():
    scheduler_heartbeat.now()

    assert WorkerHeartbeat.objects.get(name="dj_tasks_scheduler").state == "running"


def test_heartbeat_updates_the_same_row_each_time():
    scheduler_heartbeat.now()
    first_seen = WorkerHeartbeat.objects.get().last_seen

    scheduler_heartbeat.now()

    assert WorkerHeartbeat.objects.get().last_seen >= first_seen


def test_purge_deletes_finished_task_records_older_than_the_retention(settings):
    settings.COMPLETED_TASK_RETENTION_DAYS = 14
    old, old_failure, recent = (
        finished_task(days_ago=15),
        finished_task(days_ago=20, failed=True),
        finished_task(days_ago=1),
    )

    purge_completed_tasks.now()

    assert list(CompletedTask.objects.all()) == [recent]
    assert not CompletedTask.objects.filter(pk__in=[old.pk, old_failure.pk]).exists()


def test_purge_keeps_everything_when_the_retention_is_zero(settings):
    settings.COMPLETED_TASK_RETENTION_DAYS = 0
    finished_task(days_ago=400)

    purge_completed_tasks.now()

    assert CompletedTask.objects.count() == 1
