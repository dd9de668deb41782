"""Starting, following and stopping a resync from the admin: the user list's action, the
dashboard's button, the job's page; each checks its permission on the server."""

import pytest
from background_task.models import Task
from django.urls import reverse

from users.models import User, UserResyncJob
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESYNC_ALL_URL = "/admin/ops/resync-all-users/"


@pytest.fixture
def queue(settings):
    return settings.USER_SYNC_QUEUES[0]


def test_ops_resync_selected_users_from_the_user_list(client_as, queue):
    users = UserFactory.create_batch(3)
    client = client_as("Ops")

    response = client.post(
        reverse("admin:users_user_changelist"),
        {"action": "resync_selected", "_selected_action": [users[0].pk, users[2].pk]},
        follow=True,
    )

    job = UserResyncJob.objects.get()
    assert (job.queue, job.scope, job.ids, job.requested_by) == (
        queue,
        UserResyncJob.Scope.IDS,
        [users[0].pk, users[2].pk],
        client.user,
    )
    assert Task.objects.filter(task_name="users.tasks.resync_users").count() == 1
    assert "Resync of 2 user(s) queued" in response.content.decode()


def test_support_cannot_resync_selected_users(client_as):
    user = UserFactory()
    client_as("Support").post(
        reverse("admin:users_user_changelist"), {"action": "resync_selected", "_selected_action": [user.pk]}
    )
    assert not UserResyncJob.objects.exists()


def test_dashboard_offers_resync_all_to_each_queue_to_ops_only(client_as, queue):
    assert f"Resync all users to {queue}" in client_as("Ops").get("/admin/").content.decode()
    assert "Resync all users" not in client_as("Support").get("/admin/").content.decode()


def test_dashboard_button_queues_a_resync_of_all_users_and_shows_its_page(client_as, queue):
    UserFactory.create_batch(2)
    client = client_as("Ops")

    response = client.post(RESYNC_ALL_URL, {"queue": queue})

    job = UserResyncJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:users_userresyncjob_change", args=[job.pk])
    assert (job.scope, job.total) == (UserResyncJob.Scope.ALL, User.objects.count())
    page = client.get(response["Location"]).content.decode()
    assert f"0 of {job.total} snapshots in the outbox" in page


def test_dashboard_button_refuses_an_unknown_queue_with_a_clear_message(client_as):
    response = client_as("Ops").post(RESYNC_ALL_URL, {"queue": "elsewhere"})

    assert response.status_code == 400
    assert "Unknown queue 'elsewhere'" in response.content.decode()
    assert not UserResyncJob.objects.exists()


def test_dashboard_button_is_refused_without_the_permission(client_as, queue):
    assert client_as("Support").post(RESYNC_ALL_URL, {"queue": queue}).status_code == 403
    assert not UserResyncJob.objects.exists()


def test_ops_cancel_a_running_resync_from_its_list(client_as, queue):
    job = UserResyncJob.objects.create(queue=queue, scope="all", status=UserResyncJob.Status.RUNNING)

    client_as("Ops").post(
        reverse("admin:users_userresyncjob_changelist"), {"action": "cancel_jobs", "_selected_action": [job.pk]}
    )

    assert UserResyncJob.objects.get(pk=job.pk).cancel_requested


def test_auditor_reads_resync_jobs(client_as, queue):
    job = UserResyncJob.objects.create(queue=queue, scope="all", total=10, enqueued=4)

    page = client_as("Auditor").get(reverse("admin:users_userresyncjob_change", args=[job.pk])).content.decode()

    assert "4 of 10 snapshots in the outbox (40%)" in page
