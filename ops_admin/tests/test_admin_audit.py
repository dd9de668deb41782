"""The audit log admin: read-only for everyone, filters by actor, model, action, date."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from ops_admin.roles import AUDITOR
from users.models import User
from users.tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:auditlog_logentry_changelist")


def entry_for(user, *, actor=None):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(user.pk)
    ).first() or LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(user.pk),
        object_id=user.pk,
        object_repr=user.username,
        action=LogEntry.Action.UPDATE,
        changes={"email": ["a", "b"]},
        actor=actor,
    )


def test_superuser_cannot_delete_audit_entries(client_as):
    entry = entry_for(UserFactory())
    client = client_as("superuser")

    response = client.post(reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_superuser_cannot_change_audit_entries(client_as):
    entry = entry_for(UserFactory())

    response = client_as("superuser").post(
        reverse("admin:auditlog_logentry_change", args=[entry.pk]), {"object_repr": "x"}
    )

    assert response.status_code == 403


def test_actor_filter_lists_only_that_actors_entries(client_as):
    actor = StaffUserFactory(username="the-actor")
    mine = LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk="1",
        object_repr="by-actor",
        action=LogEntry.Action.UPDATE,
        changes={},
        actor=actor,
    )
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk="2",
        object_repr="by-nobody",
        action=LogEntry.Action.UPDATE,
        changes={},
    )

    content = client_as(AUDITOR).get(CHANGELIST, {"actor": actor.pk}).content.decode()

    assert mine.object_repr in content
    assert "by-nobody" not in content


def test_action_filter_narrows_the_list(client_as):
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk="1",
        object_repr="created-one",
        action=LogEntry.Action.CREATE,
        changes={},
    )
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk="2",
        object_repr="deleted-one",
        action=LogEntry.Action.DELETE,
        changes={},
    )

    content = client_as(AUDITOR).get(CHANGELIST, {"action": LogEntry.Action.DELETE}).content.decode()

    assert "deleted-one" in content
    assert "created-one" not in content
