"""The sync conflicts admin (Apply again, Mark resolved) and the API-hit admin."""

import json
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from users.models import ConflictingUserSyncLog, User, UserAPIHitLog
from users.sync import user_sync_apply
from users.sync_message import sync_message_decode
from users.sync_rules import APPLIED
from users.tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db
CONFLICTS = reverse("admin:users_conflictingusersynclog_changelist")
HITS = reverse("admin:users_userapihitlog_changelist")


def staff_with(*codenames):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="users", codename__in=codenames))
    return user


@pytest.fixture
def support(client):
    client.force_login(
        staff_with("view_conflictingusersynclog", "apply_conflictingusersynclog", "resolve_conflictingusersynclog")
    )
    return client


def conflict_for_taken_username(username="taken"):
    """A user.created message that conflicted because `username` was already used here."""
    squatter = UserFactory(username=username)
    body = json.dumps(
        {
            "type": "user.created",
            "source": "other",
            "source_id": 7,
            "user": {"username": username, "email": f"{username}@other.example"},
        }
    )
    message = sync_message_decode(body=body.encode(), message_id=uuid.uuid4(), headers={"x-outbox-id": 3})
    user_sync_apply(message=message)
    return ConflictingUserSyncLog.objects.get(), squatter


def test_apply_again_applies_a_conflict_whose_cause_is_gone_and_resolves_it(support):
    conflict, squatter = conflict_for_taken_username()
    squatter.delete()

    response = support.post(CONFLICTS, {"action": "apply_again", "_selected_action": [conflict.pk]}, follow=True)

    assert f"Applied again: 1 {APPLIED}." in response.content.decode()
    conflict.refresh_from_db()
    assert conflict.resolved and conflict.resolved_by is not None
    assert User.objects.filter(username="taken", email="taken@other.example").exists()


def test_apply_again_still_conflicting_keeps_one_open_conflict(support):
    conflict, _ = conflict_for_taken_username()

    response = support.post(CONFLICTS, {"action": "apply_again", "_selected_action": [conflict.pk]}, follow=True)

    assert "Applied again: 1 conflict." in response.content.decode()
    assert list(ConflictingUserSyncLog.objects.values_list("pk", "resolved")) == [(conflict.pk, False)]


def test_mark_resolved_records_who_and_when(support):
    conflict, _ = conflict_for_taken_username()

    response = support.post(CONFLICTS, {"action": "mark_resolved", "_selected_action": [conflict.pk]}, follow=True)

    assert "1 conflict(s) marked resolved" in response.content.decode()
    conflict.refresh_from_db()
    assert conflict.resolved and conflict.resolved_at is not None
    assert conflict.resolved_by.username == response.wsgi_request.user.username


def test_conflict_actions_need_their_permissions(client):
    conflict, _ = conflict_for_taken_username()
    client.force_login(staff_with("view_conflictingusersynclog"))

    client.post(CONFLICTS, {"action": "mark_resolved", "_selected_action": [conflict.pk]})

    conflict.refresh_from_db()
    assert not conflict.resolved


def test_conflict_page_pretty_prints_the_raw_body(support):
    conflict, _ = conflict_for_taken_username()

    content = support.get(reverse("admin:users_conflictingusersynclog_change", args=[conflict.pk])).content.decode()

    assert "<pre>{\n  &quot;source&quot;: &quot;other&quot;" in content


def hit(status_code, path="/api/users/", method="GET"):
    return UserAPIHitLog.objects.create(
        method=method, api_name=path, status_code=status_code, duration_ms=1.0, timestamp=timezone.now()
    )


@pytest.fixture
def auditor(client):
    client.force_login(staff_with("view_userapihitlog"))
    return client


def test_status_class_filter_lists_that_class_only(auditor):
    hit(404, "/api/missing/")
    hit(200, "/api/fine/")

    response = auditor.get(HITS, {"status_class": "4"})

    assert [h.api_name for h in response.context["cl"].result_list] == ["/api/missing/"]


def test_hits_are_exported_with_view_permission_only(auditor):
    hit(500, "/api/broken/")

    response = auditor.post(
        reverse("admin:users_userapihitlog_export"),
        {
            "format": "0",
            "resource": "0",
            "userapihitlogresource_api_name": "on",
            "userapihitlogresource_status_code": "on",
        },
    )

    assert response.status_code == 200
    assert "/api/broken/" in b"".join(response.streaming_content).decode()


def test_hits_admin_never_counts_the_whole_table():
    from django.contrib import admin

    from common.admin.pagination import EstimatedCountPaginator

    model_admin = admin.site._registry[UserAPIHitLog]
    assert model_admin.paginator is EstimatedCountPaginator
    assert model_admin.show_full_result_count is False
