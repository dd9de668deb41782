"""`manage.py dj_tasks_scheduler`: registration of project/registered_tasks.py, then process_tasks."""

import io

import pytest
from background_task.models import CompletedTask, Task
from django.core.management import call_command

from pubsub.models import WorkerHeartbeat

REGISTERED = {
    "scheduler.tasks.scheduler_heartbeat": 60,
    "users.tasks.flush_expired_tokens": Task.DAILY,
    "users.tasks.purge_old_api_hits": Task.DAILY,
    "users.tasks.purge_old_login_logs": Task.DAILY,
    "pubsub.tasks.purge_published_outbox": Task.DAILY,
    "pubsub.tasks.purge_stale_heartbeats": Task.DAILY,
    "scheduler.tasks.purge_completed_tasks": Task.DAILY,
    "users.tasks.purge_stale_user_import_files": Task.HOURLY,
    "users.tasks.publish_sync_digests": 3600,
}

pytestmark = pytest.mark.django_db


def register_only() -> str:
    out = io.StringIO()
    call_command("dj_tasks_scheduler", "--register-only", stdout=out)
    return out.getvalue()


def test_register_only_registers_every_recurring_task_with_its_period():
    register_only()

    assert dict(Task.objects.values_list("task_name", "repeat")) == REGISTERED


def test_register_only_says_what_it_registered():
    assert "registered flush expired JWT tokens: every 86400s" in register_only()


def test_registration_removes_the_recurring_tasks_of_a_previous_start():
    Task.objects.new_task("users.tasks.retired_task", repeat=Task.HOURLY).save()

    register_only()

    assert not Task.objects.filter(task_name="users.tasks.retired_task").exists()


def test_registering_again_leaves_one_row_per_task():
    register_only()
    register_only()

    assert Task.objects.count() == len(REGISTERED)


def test_registration_keeps_one_off_tasks(one_off_task):
    register_only()

    assert Task.objects.filter(task_name="scheduler.tests.records_runs").exists()


def test_register_only_runs_nothing():
    register_only()

    assert not CompletedTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_scheduler_runs_the_due_tasks_for_the_given_duration():
    call_command("dj_tasks_scheduler", duration=1, sleep=0.1, stdout=io.StringIO())

    assert set(CompletedTask.objects.values_list("task_name", flat=True)) == set(REGISTERED)


@pytest.mark.django_db(transaction=True)
def test_each_recurring_task_is_queued_again_for_its_next_period_after_running():
    call_command("dj_tasks_scheduler", duration=1, sleep=0.1, stdout=io.StringIO())

    assert dict(Task.objects.values_list("task_name", "repeat")) == REGISTERED
    assert not Task.objects.filter(run_at__lte=CompletedTask.objects.latest("run_at").run_at).exists()


@pytest.mark.django_db(transaction=True)
def test_scheduler_leaves_a_stopped_heartbeat_with_its_counts():
    call_command("dj_tasks_scheduler", duration=1, sleep=0.1, stdout=io.StringIO())

    beat = WorkerHeartbeat.objects.get(name="dj_tasks_scheduler")
    assert (beat.state, beat.processed, beat.failed) == ("stopped", len(REGISTERED), 0)


@pytest.mark.django_db(transaction=True)
def test_background_tasks_own_process_tasks_runs_on_this_django(one_off_task):
    call_command("process_tasks", duration=1, sleep=0.1)

    assert one_off_task == ["ran"]
