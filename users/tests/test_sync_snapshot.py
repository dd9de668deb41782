"""A `user.snapshot` (a resync) is applied as "make it so", on both apply paths: the user is created,
or brought to the snapshot's state when its version is at least the one applied; an older one
changes nothing; privilege and conflict rules are those of live messages."""

import pytest
from django.contrib.auth.hashers import make_password

from users.models import ConflictingUserSyncLog, SyncedUserLink, User
from users.sync_payload import USER_CREATED, USER_SNAPSHOT, USER_UPDATED
from users.sync_rules import APPLIED, CONFLICT, OUTDATED
from users.tests.sync_messages import APPLY_PATHS, SOURCE, remote_message

pytestmark = pytest.mark.django_db

NEW_HASH = make_password("Another-Secret-99")


def snapshot(**fields):
    return remote_message(message_type=USER_SNAPSHOT, **fields)


def mirrored() -> User:
    return SyncedUserLink.objects.get(source=SOURCE, source_id=7).user


@APPLY_PATHS
def test_snapshot_of_an_unknown_user_creates_it(apply):
    assert apply(snapshot(version=5, first_name="Alice")) == APPLIED

    user = mirrored()
    assert (user.username, user.first_name) == ("remote.alice", "Alice")
    assert SyncedUserLink.objects.get(source=SOURCE, source_id=7).last_version == 5


@APPLY_PATHS
def test_snapshot_of_the_applied_version_undoes_a_hand_edit(apply):
    apply(remote_message(version=5, first_name="Alice", last_name="Liddell"))
    User.objects.filter(username="remote.alice").update(first_name="Hand", last_name="Edited", password="!x")

    assert apply(snapshot(version=5, first_name="Alice", last_name="Liddell")) == APPLIED

    user = mirrored()
    assert (user.first_name, user.last_name) == ("Alice", "Liddell")
    assert user.password == remote_message().user["password"]


@APPLY_PATHS
def test_newer_snapshot_sets_every_synced_field(apply):
    apply(remote_message(version=5, first_name="Alice", course="Maths"))

    assert apply(snapshot(version=9, first_name="Alicia", course="", email="a@b.example", password=NEW_HASH)) == APPLIED

    user = mirrored()
    assert (user.first_name, user.course, user.email, user.password) == ("Alicia", "", "a@b.example", NEW_HASH)
    assert SyncedUserLink.objects.get(source=SOURCE, source_id=7).last_version == 9


@APPLY_PATHS
def test_older_snapshot_changes_nothing_and_is_no_conflict(apply):
    apply(remote_message(version=5, first_name="Alice"))
    apply(remote_message(message_type=USER_UPDATED, version=8, first_name="Newer"))

    assert apply(snapshot(version=6, first_name="Older")) == OUTDATED

    assert mirrored().first_name == "Newer"
    assert SyncedUserLink.objects.get(source=SOURCE, source_id=7).last_version == 8
    assert not ConflictingUserSyncLog.objects.exists()


@APPLY_PATHS
def test_snapshot_of_a_deleted_user_soft_deletes_it(apply):
    apply(remote_message(version=5))

    assert apply(snapshot(version=6, is_deleted=True, deleted_at="2026-01-02T03:04:05Z", is_active=False)) == APPLIED

    user = mirrored()
    assert (user.is_deleted, user.is_active) == (True, False)
    assert user.deleted_at is not None


@APPLY_PATHS
def test_snapshot_restores_a_user_deleted_here_by_hand(apply):
    apply(remote_message(version=5, first_name="Alice"))
    User.objects.filter(username="remote.alice").delete()

    assert apply(snapshot(version=5, first_name="Alice")) == APPLIED

    assert mirrored().first_name == "Alice"


@APPLY_PATHS
def test_snapshot_carries_no_privileges_unless_the_receiver_accepts_them(apply, settings):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = False

    apply(snapshot(version=5, is_staff=True, is_superuser=True, user_type="admin"))

    user = mirrored()
    assert (user.is_staff, user.is_superuser, user.user_type) == (False, False, "student")


@APPLY_PATHS
def test_snapshot_whose_username_a_local_user_holds_is_a_conflict(apply):
    User.objects.create_user(username="remote.alice", email="local@here.example")

    assert apply(snapshot(version=5)) == CONFLICT

    conflict = ConflictingUserSyncLog.objects.get()
    assert (conflict.message_type, conflict.reason_code) == (USER_SNAPSHOT, "username_taken")
    assert User.objects.get(username="remote.alice").email == "local@here.example"


@APPLY_PATHS
def test_live_update_of_the_same_version_is_still_stale(apply):
    apply(remote_message(message_type=USER_CREATED, version=5))

    assert apply(remote_message(message_type=USER_UPDATED, version=5, first_name="Again")) == CONFLICT
