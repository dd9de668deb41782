"""The scheduled-task admin: read-only, failed tasks filtered, Run now for Ops."""

from datetime import timedelta

import pytest
from background_task.models import CompletedTask, Task
from django.urls import reverse
from django.utils import timezone

from ops_admin.roles import AUDITOR, OPS, SUPPORT

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:background_task_task_changelist")


def make_task(name="users.tasks.flush_expired_tokens", *, model=Task, **fields):
    fields.setdefault("run_at", timezone.now() + timedelta(hours=1))
    return model.objects.create(task_name=name, task_params="[[], {}]", task_hash=name[:40], **fields)


def test_run_now_makes_the_task_due(client_as):
    task = make_task()

    response = client_as(OPS).post(CHANGELIST, {"action": "run_now", "_selected_action": [task.pk]}, follow=True)

    assert "1 task(s) due now" in response.content.decode()
    task.refresh_from_db()
    assert task.run_at <= timezone.now()


def test_run_now_leaves_locked_tasks_alone(client_as):
    task = make_task(locked_by="1234", locked_at=timezone.now())

    client_as(OPS).post(CHANGELIST, {"action": "run_now", "_selected_action": [task.pk]})

    task.refresh_from_db()
    assert task.run_at > timezone.now()


@pytest.mark.parametrize("kind", [AUDITOR, SUPPORT])
def test_run_now_is_refused_below_ops(client_as, kind):
    task = make_task()

    client_as(kind).post(CHANGELIST, {"action": "run_now", "_selected_action": [task.pk]})

    task.refresh_from_db()
    assert task.run_at > timezone.now()


def test_failed_filter_shows_failed_tasks_with_their_error(client_as):
    make_task(
        "scheduler.tasks.broken",
        model=CompletedTask,
        failed_at=timezone.now(),
        last_error="Traceback\nRuntimeError: disk full",
    )
    make_task("scheduler.tasks.fine", model=CompletedTask)

    response = client_as(AUDITOR).get(reverse("admin:background_task_completedtask_changelist"), {"outcome": "failed"})

    assert [task.task_name for task in response.context["cl"].result_list] == ["scheduler.tasks.broken"]
    assert "RuntimeError: disk full" in response.content.decode()


def test_task_pages_are_read_only_even_for_ops(client_as):
    task = make_task()

    response = client_as(OPS).post(reverse("admin:background_task_task_change", args=[task.pk]), {"priority": 9})

    assert response.status_code == 403
