"""background_task's own admin on Django 5.2: a failed task's error is on its page."""

import pytest
from background_task.models import CompletedTask
from background_task.tasks import tasks
from django.urls import reverse

from scheduler.tests.failing import always_fails
from users.tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory())
    return client


@pytest.fixture
def failed_task(settings):
    settings.MAX_ATTEMPTS = 1
    always_fails()
    tasks.run_next_task()
    return CompletedTask.objects.get()


def test_failed_task_page_shows_its_error(admin_client, failed_task):
    response = admin_client.get(reverse("admin:background_task_completedtask_change", args=[failed_task.pk]))

    assert response.status_code == 200
    assert b"RuntimeError: disk full" in response.content


def test_finished_tasks_list_flags_the_failed_one(admin_client, failed_task):
    response = admin_client.get(reverse("admin:background_task_completedtask_changelist"))

    assert response.status_code == 200
    assert b"scheduler.tests.always_fails" in response.content
