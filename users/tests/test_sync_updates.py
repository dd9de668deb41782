"""Updates from another deployment: the rules both apply paths keep, the batch path with one
UPDATE of the batch's users joining a table of their values (users.sync_rows.instances_update)."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from users import sync_batch
from users.models import SyncedUserLink, User
from users.sync_batch import user_sync_apply_batch
from users.sync_payload import USER_UPDATED
from users.sync_rules import APPLIED, CONFLICT
from users.tests.sync_messages import APPLY_PATHS, apply_in_a_batch, remote_message
from users.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db

NEW_HASH = make_password("Sent-From-North-9")


def create(apply, *, source_id=7, username="remote.alice"):
    assert apply(remote_message(source_id=source_id, username=username)) == APPLIED
    return SyncedUserLink.objects.get(source_id=source_id).user


def update(source_id=7, version=2, username="remote.alice", **fields):
    return remote_message(message_type=USER_UPDATED, source_id=source_id, version=version, username=username, **fields)


def apply_batch(*messages) -> list[str]:
    with transaction.atomic():
        return user_sync_apply_batch(messages=list(messages))


def revoked(user) -> bool:
    return BlacklistedToken.objects.filter(token__user=user).exists()


@APPLY_PATHS
def test_an_update_writes_the_synced_fields_and_leaves_the_local_ones(apply):
    user = create(apply)
    teacher = User.objects.create(username="teacher")
    last_login = timezone.now() - datetime.timedelta(days=1)
    User.objects.filter(pk=user.pk).update(last_login=last_login, profile_img="profile_images/a.png")

    assert (
        apply(
            update(
                first_name="Alicia",
                email="alicia@north.example",
                dob="2001-02-03",
                address="1 O'Neil Road",
                class_teacher_username="teacher",
                user_code="UC9999",
            )
        )
        == APPLIED
    )

    row = User.objects.get(pk=user.pk)
    assert (row.first_name, row.email, row.dob, row.address, row.class_teacher) == (
        "Alicia",
        "alicia@north.example",
        datetime.date(2001, 2, 3),
        "1 O'Neil Road",
        teacher,
    )
    assert (row.user_code, row.last_login, row.profile_img.name) == (user.user_code, last_login, "profile_images/a.png")


@APPLY_PATHS
def test_an_update_moves_its_links_version_and_time(apply):
    create(apply)
    before = SyncedUserLink.objects.get()

    apply(update(version=5, first_name="Alicia"))

    link = SyncedUserLink.objects.get()
    assert link.last_version == 5
    assert link.updated_at > before.updated_at


@APPLY_PATHS
def test_an_applied_update_leaves_one_audit_entry_with_its_change(apply):
    user = create(apply)

    apply(update(first_name="Alicia"))

    [entry] = LogEntry.objects.filter(object_id=user.pk, action=LogEntry.Action.UPDATE)
    assert entry.changes["first_name"][1] == "Alicia"


def test_users_updated_in_one_batch_each_get_their_own_values_and_only_theirs_lose_tokens():
    renamed, new_password, deactivated = (
        create(apply_in_a_batch, source_id=n, username=f"remote.{n}") for n in (1, 2, 3)
    )
    tokens = {user.pk: token_pair_for_user(user) for user in (renamed, new_password, deactivated)}

    outcomes = apply_batch(
        update(source_id=1, username="remote.1", first_name="Renamed"),
        update(source_id=2, username="remote.2", password=NEW_HASH),
        update(source_id=3, username="remote.3", is_active=False),
        remote_message(source_id=4, username="remote.4"),
    )

    assert outcomes == [APPLIED] * 4
    rows = User.objects.in_bulk([renamed.pk, new_password.pk, deactivated.pk])
    assert [
        (rows[pk].first_name, rows[pk].password, rows[pk].is_active, rows[pk].token_generation) for pk in tokens
    ] == [
        ("Renamed", renamed.password, True, 0),
        (new_password.first_name, NEW_HASH, True, 1),
        (deactivated.first_name, deactivated.password, False, 1),
    ]
    assert [revoked(user) for user in (renamed, new_password, deactivated)] == [False, True, True]
    assert User.objects.filter(username="remote.4").exists()


def test_updates_of_one_user_in_one_batch_apply_in_version_order():
    user = create(apply_in_a_batch)

    outcomes = apply_batch(update(version=3, first_name="Third"), update(version=2, first_name="Second"))

    assert outcomes == [APPLIED, CONFLICT]
    assert User.objects.get(pk=user.pk).first_name == "Third"
    assert SyncedUserLink.objects.get().last_version == 3


def test_a_stale_update_in_a_batch_changes_nothing_while_the_others_apply():
    stale, fresh = (create(apply_in_a_batch, source_id=n, username=f"remote.{n}") for n in (1, 2))
    apply_batch(update(source_id=1, username="remote.1", version=9, first_name="Ninth"))

    outcomes = apply_batch(
        update(source_id=1, username="remote.1", version=4, first_name="Fourth"),
        update(source_id=2, username="remote.2", version=4, first_name="Fourth"),
    )

    assert outcomes == [CONFLICT, APPLIED]
    assert User.objects.get(pk=stale.pk).first_name == "Ninth"
    assert User.objects.get(pk=fresh.pk).first_name == "Fourth"


def test_an_update_to_a_username_another_user_has_is_a_conflict_in_a_batch():
    user = create(apply_in_a_batch)
    User.objects.create(username="taken.here")

    assert apply_batch(update(username="taken.here")) == [CONFLICT]

    assert User.objects.get(pk=user.pk).username == "remote.alice"


@pytest.mark.parametrize(
    ("fields", "generation"),
    [({"first_name": "Renamed"}, 1), ({"password": NEW_HASH}, 2)],
    ids=["keeps-it", "revokes-on-top"],
)
def test_a_revocation_between_the_batchs_read_and_its_update_is_kept(monkeypatch, fields, generation):
    user = create(apply_in_a_batch)
    user_fields_from_message = sync_batch.user_fields_from_message

    def read_then_revoke(message, **kwargs):
        # after the round read (and locked) the user
        User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
        return user_fields_from_message(message, **kwargs)

    monkeypatch.setattr(sync_batch, "user_fields_from_message", read_then_revoke)

    assert apply_batch(update(**fields)) == [APPLIED]

    assert User.objects.get(pk=user.pk).token_generation == generation
