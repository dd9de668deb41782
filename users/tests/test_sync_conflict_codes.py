"""The kind of a sync conflict is stored as a code beside its reason: the same code on both apply
paths, what the admin filters on, and given to the conflicts recorded before the code by a migration."""

import dataclasses
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from users.models import ConflictingUserSyncLog
from users.services.conflicts import sync_conflict_apply_again
from users.sync_payload import USER_UPDATED
from users.tests.factories import StaffUserFactory, UserFactory
from users.tests.sync_messages import APPLY_PATHS, apply_one, remote_message

Reason = ConflictingUserSyncLog.Reason
CONFLICTS = reverse("admin:users_conflictingusersynclog_changelist")


def unknown_user():
    return remote_message(message_type=USER_UPDATED, source_id=99)


def username_exists():
    UserFactory(username="remote.alice")
    return remote_message()


def username_of_another_user():
    apply_one(remote_message(version=1))
    UserFactory(username="bob")
    return remote_message(message_type=USER_UPDATED, version=2, username="bob")


def stale():
    apply_one(remote_message(version=5))
    return remote_message(message_type=USER_UPDATED, version=3)


def invalid():
    return remote_message(is_active="yes")


def different_body():
    first = remote_message()
    apply_one(first)
    return dataclasses.replace(first, raw_body=first.raw_body + " ")


KINDS = {
    "unknown user": (unknown_user, Reason.UNKNOWN_USER),
    "username exists": (username_exists, Reason.USERNAME_TAKEN),
    "username of another user": (username_of_another_user, Reason.USERNAME_TAKEN),
    "stale": (stale, Reason.STALE),
    "invalid": (invalid, Reason.INVALID),
    "different body": (different_body, Reason.DIFFERENT_BODY),
}


@pytest.mark.django_db
@APPLY_PATHS
@pytest.mark.parametrize(("make_message", "code"), KINDS.values(), ids=KINDS.keys())
def test_each_kind_of_conflict_gets_its_code_on_both_apply_paths(apply, make_message, code):
    message = make_message()

    assert apply(message) == "conflict"

    conflict = ConflictingUserSyncLog.objects.get(message_id=message.message_id)
    assert conflict.reason_code == code


@pytest.mark.django_db
def test_a_conflict_applied_again_that_cannot_be_decoded_is_coded_undecodable():
    conflict = ConflictingUserSyncLog.objects.create(
        message_id=uuid.uuid4(), raw_body="not json{", reason="stale: version 1 is not newer than 2", version=1
    )

    assert sync_conflict_apply_again(conflict=conflict, actor=None) == "undecodable"

    conflict.refresh_from_db()
    assert conflict.reason_code == Reason.UNDECODABLE
    assert conflict.reason.startswith("undecodable: ")


@pytest.mark.django_db
def test_the_admin_filters_conflicts_by_their_code_whatever_the_wording(client):
    viewer = StaffUserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_conflictingusersynclog"))
    client.force_login(viewer)
    coded_stale = ConflictingUserSyncLog.objects.create(
        raw_body="{}", reason="outdated: version 1 came after version 2", reason_code=Reason.STALE
    )
    ConflictingUserSyncLog.objects.create(raw_body="{}", reason="stale, in words only", reason_code=Reason.OTHER)
    ConflictingUserSyncLog.objects.create(
        raw_body="{}", reason="username 'bob' already exists", reason_code=Reason.USERNAME_TAKEN
    )

    response = client.get(CONFLICTS, {"reason_code__exact": Reason.STALE})

    assert [conflict.pk for conflict in response.context["cl"].result_list] == [coded_stale.pk]


OLD_REASONS = {
    "unknown user: no user from north #7 here": Reason.UNKNOWN_USER,
    "username 'bob' already exists": Reason.USERNAME_TAKEN,
    "username 'bob' belongs to another user here": Reason.USERNAME_TAKEN,
    "stale: version 3 is not newer than 5": Reason.STALE,
    "invalid: email: Enter a valid email address.": Reason.INVALID,
    "conflicts with existing data: (1062, 'Duplicate entry')": Reason.EXISTING_DATA,
    "undecodable: body is not UTF-8 JSON": Reason.UNDECODABLE,
    f"message_id {uuid.UUID(int=1)} was already handled with a different body: not applied": Reason.DIFFERENT_BODY,
    "something nobody wrote yet": Reason.OTHER,
}
BEFORE_CODES = [("users", "0009_conflict_source_id")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_the_conflicts_recorded_before_it_the_code_of_their_reason():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_CODES)
    try:
        OldConflict = executor.loader.project_state(BEFORE_CODES).apps.get_model("users", "ConflictingUserSyncLog")
        for reason in OLD_REASONS:
            OldConflict.objects.create(raw_body="{}", reason=reason)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(ConflictingUserSyncLog.objects.values_list("reason", "reason_code")) == OLD_REASONS
