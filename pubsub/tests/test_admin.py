"""The outbox admin: actions, the publish-now button, permissions, payload and history pages."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pubsub.models import QueuePublishHistory
from users.tests.factories import UserFactory

Status = QueuePublishHistory.Status
CHANGELIST = "admin:pubsub_queuepublishhistory_changelist"
PUBLISH_NOW = "admin:pubsub_queuepublishhistory_publish_now"

pytestmark = pytest.mark.django_db


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    perms = Permission.objects.filter(content_type__app_label="pubsub", codename__in=codenames)
    user.user_permissions.add(*perms)
    return user


@pytest.fixture
def support_client(client):
    client.force_login(
        staff_with("view_queuepublishhistory", "retry_queuepublishhistory", "expire_queuepublishhistory")
    )
    return client


@pytest.fixture
def viewer_client(client):
    client.force_login(staff_with("view_queuepublishhistory"))
    return client


def run_action(client, action, rows):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def test_retry_action_requeues_error_rows(support_client, make_row):
    rows = [make_row(status=Status.ERROR, attempts=10, next_attempt_at=None, error_msg="boom") for _ in range(3)]

    response = run_action(support_client, "retry_messages", rows)

    assert "3 message(s) set to pending" in response.content.decode()
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.PENDING
        assert row.attempts == 0
        assert row.next_attempt_at <= timezone.now()


def test_retry_action_leaves_published_rows_alone(support_client, make_row):
    published = make_row(status=Status.PUBLISHED, next_attempt_at=None)

    response = run_action(support_client, "retry_messages", [published])

    assert "0 message(s)" in response.content.decode()
    published.refresh_from_db()
    assert published.status == Status.PUBLISHED


def test_expire_action_expires_rows_for_good(support_client, make_row):
    rows = [make_row(status=Status.ERROR), make_row()]

    response = run_action(support_client, "expire_messages", rows)

    assert "2 message(s) expired" in response.content.decode()
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.EXPIRED
        assert row.expired_reason == "manual"
        assert row.next_attempt_at is None


def test_actions_write_one_audit_entry_per_changed_row_with_the_actor(support_client, make_row):
    rows = [make_row(status=Status.ERROR) for _ in range(2)]

    run_action(support_client, "retry_messages", rows)

    entries = LogEntry.objects.filter(object_id__in=[row.pk for row in rows])
    assert entries.count() == 2
    assert all(entry.changes == {"status": ["error", "pending"]} for entry in entries)
    assert all(entry.actor is not None for entry in entries)


def test_actions_change_thousands_of_rows_in_one_update(support_client, make_row):
    rows = QueuePublishHistory.objects.bulk_create(
        [
            QueuePublishHistory(
                queue_name="q",
                exchange_name="x",
                deadletter_queue_name="q_DLQ",
                deadletter_exchange_name="x_DLX",
                message_body_json={},
                status=Status.ERROR,
            )
            for _ in range(2000)
        ]
    )

    # "select all N" across pages posts the filter, not thousands of ids
    with CaptureQueriesContext(connection) as queries:
        support_client.post(
            reverse(CHANGELIST) + "?status__exact=error",
            {"action": "expire_messages", "select_across": "1", "index": "0", "_selected_action": [rows[0].pk]},
        )

    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "pubsub_" in q["sql"]]
    assert len(updates) == 1
    assert QueuePublishHistory.objects.filter(status=Status.EXPIRED).count() == len(rows)


def test_a_viewer_sees_no_actions_and_cannot_run_them(viewer_client, make_row):
    row = make_row(status=Status.ERROR)

    page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    run_action(viewer_client, "retry_messages", [row])

    assert "retry_messages" not in page
    assert "publish-now" not in page
    row.refresh_from_db()
    assert row.status == Status.ERROR


def test_publish_now_refuses_get(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get(reverse(PUBLISH_NOW)).status_code == 405


def test_publish_now_needs_its_permission(viewer_client):
    assert viewer_client.post(reverse(PUBLISH_NOW)).status_code == 403


def test_publish_now_publishes_due_rows(client, rabbit, make_row):
    client.force_login(staff_with("view_queuepublishhistory", "publish_queuepublishhistory"))
    rows = [make_row() for _ in range(3)]
    due = QueuePublishHistory.objects.filter(status=Status.PENDING).count()  # the login user's own message too

    response = client.post(reverse(PUBLISH_NOW), follow=True)

    assert f"Published {due} due message(s)" in response.content.decode()
    assert rabbit.message_count(rabbit.route.queue) == due
    assert {r.status for r in QueuePublishHistory.objects.filter(pk__in=[r.pk for r in rows])} == {Status.PUBLISHED}


def test_publish_now_says_when_the_broker_is_unreachable(client, settings, make_row):
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    client.force_login(staff_with("view_queuepublishhistory", "publish_queuepublishhistory"))
    row = make_row()

    response = client.post(reverse(PUBLISH_NOW), follow=True)

    assert "RabbitMQ is unreachable" in response.content.decode()
    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.claimed_by == ""


def test_change_page_pretty_prints_the_payload(viewer_client, make_row):
    row = make_row(body={"user": {"username": "alice"}})

    page = viewer_client.get(reverse("admin:pubsub_queuepublishhistory_change", args=[row.pk])).content.decode()

    assert "&quot;username&quot;: &quot;alice&quot;" in page
    assert "<pre>" in page


def test_search_finds_a_message_by_its_id(viewer_client, make_row):
    wanted, other = make_row(), make_row()

    page = viewer_client.get(reverse(CHANGELIST), {"q": str(wanted.message_id)}).content.decode()

    assert f"/{wanted.pk}/change/" in page
    assert f"/{other.pk}/change/" not in page


def test_status_filter_lists_only_that_status(viewer_client, make_row):
    error, pending = make_row(status=Status.ERROR), make_row()

    page = viewer_client.get(reverse(CHANGELIST), {"status__exact": "error"}).content.decode()

    assert f"/{error.pk}/change/" in page
    assert f"/{pending.pk}/change/" not in page


def test_history_page_shows_the_status_change(support_client, make_row):
    row = make_row(status=Status.ERROR)
    run_action(support_client, "retry_messages", [row])

    page = support_client.get(reverse("admin:pubsub_queuepublishhistory_auditlog", args=[row.pk])).content.decode()

    assert "pending" in page and "error" in page
