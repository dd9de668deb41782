"""A failing task keeps its error where the admin and the dashboard see it, and recurring tasks
keep recurring."""

from datetime import timedelta

import pytest
from background_task.models import CompletedTask, Task
from background_task.tasks import tasks
from django.utils import timezone

from scheduler.selectors import tasks_failed_recent
from scheduler.tests.failing import always_fails

pytestmark = pytest.mark.django_db


def run_due_task():
    assert tasks.run_next_task()


def test_a_failed_attempt_keeps_the_error_on_the_task(settings):
    settings.MAX_ATTEMPTS = 3
    always_fails()

    run_due_task()

    task = Task.objects.get(task_name="scheduler.tests.always_fails")
    assert "RuntimeError: disk full" in task.last_error
    assert task.attempts == 1


def test_a_task_out_of_attempts_is_recorded_as_failed_with_its_error(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails()

    run_due_task()

    failed = CompletedTask.objects.failed().get()
    assert "RuntimeError: disk full" in failed.last_error


def test_a_recurring_task_out_of_attempts_is_scheduled_for_its_next_period(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails(repeat=Task.DAILY)

    run_due_task()

    again = Task.objects.get(task_name="scheduler.tests.always_fails")
    assert (again.repeat, again.attempts, again.last_error) == (Task.DAILY, 0, "")
    assert again.run_at > timezone.now() + timedelta(hours=23)


def test_a_one_off_task_out_of_attempts_is_not_scheduled_again(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails()

    run_due_task()

    assert not Task.objects.exists()


def test_failed_recent_lists_a_task_being_retried_with_its_error(settings):
    settings.MAX_ATTEMPTS = 3
    always_fails(verbose_name="nightly export")
    run_due_task()

    [failed] = tasks_failed_recent()

    assert (failed.name, failed.gave_up, failed.error_summary) == ("nightly export", False, "RuntimeError: disk full")
    assert failed.next_attempt_at > timezone.now()


def test_failed_recent_lists_a_task_given_up_on(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails()
    run_due_task()

    [failed] = tasks_failed_recent()

    assert (failed.name, failed.gave_up, failed.attempts) == ("scheduler.tests.always_fails", True, 1)


def test_failed_recent_leaves_out_tasks_given_up_on_before_the_window(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails()
    run_due_task()
    CompletedTask.objects.update(failed_at=timezone.now() - timedelta(days=2))

    assert tasks_failed_recent(within=timedelta(days=1)) == []


def test_failed_recent_leaves_out_tasks_that_succeeded(one_off_task):
    run_due_task()

    assert tasks_failed_recent() == []
