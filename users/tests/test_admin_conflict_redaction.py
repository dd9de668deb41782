"""The sync conflicts admin never shows a password hash, to any role, while the stored raw body
(what "Apply again" applies) keeps it."""

import json
import uuid

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from ops_admin.roles import AUDITOR
from tests.support.admin_people import SUPERUSER, admin_user_of_kind
from users.models import ConflictingUserSyncLog
from users.sync import user_sync_apply
from users.sync_message import sync_message_decode
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HASH = make_password("Sent-By-Another-Deployment-1")


@pytest.fixture(params=[AUDITOR, SUPERUSER])
def viewer(request, client):
    client.force_login(admin_user_of_kind(request.param))
    return client


@pytest.fixture
def conflict():
    """A user.created message from another deployment, with its password hash, that conflicted
    because its username is taken here."""
    UserFactory(username="taken")
    body = {
        "type": "user.created",
        "source": "other",
        "source_id": 7,
        "user": {"username": "taken", "email": "taken@other.example", "password": HASH},
    }
    message = sync_message_decode(body=json.dumps(body).encode(), message_id=uuid.uuid4(), headers={"x-outbox-id": 3})
    user_sync_apply(message=message)
    return ConflictingUserSyncLog.objects.get()


def change_page(client, conflict) -> str:
    return client.get(reverse("admin:users_conflictingusersynclog_change", args=[conflict.pk])).content.decode()


def test_conflict_page_hides_the_password_hash(viewer, conflict):
    content = change_page(viewer, conflict)

    assert HASH not in content
    assert "&quot;password&quot;: &quot;&lt;hash hidden&gt;&quot;" in content
    assert "taken@other.example" in content


def test_conflict_keeps_the_hash_it_was_sent(viewer, conflict):
    change_page(viewer, conflict)

    conflict.refresh_from_db()
    assert json.loads(conflict.raw_body)["user"]["password"] == HASH


def test_conflict_page_hides_a_hash_in_a_body_that_is_not_json(viewer):
    conflict = ConflictingUserSyncLog.objects.create(
        message_type="user.created",
        source="other",
        reason="undecodable: cut short",
        raw_body=f'{{"user": {{"username": "ann", "password": "{HASH}"',
    )

    content = change_page(viewer, conflict)

    assert HASH not in content
    assert "&lt;hash hidden&gt;" in content


def test_conflict_list_shows_no_password_hash(viewer, conflict):
    content = viewer.get(reverse("admin:users_conflictingusersynclog_changelist")).content.decode()

    assert reverse("admin:users_conflictingusersynclog_change", args=[conflict.pk]) in content
    assert HASH not in content
