"""The one-message sync path never writes back what it read: a change committed by another
process between its read of the user and its save survives. The concurrent change is made
deterministically, with a queryset UPDATE inside the apply's validation step."""

import pytest
from django.contrib.auth.hashers import make_password
from django.db.models import F

from users.models import SyncedUserLink, User
from users.sync_payload import USER_UPDATED
from users.tests.sync_messages import PASSWORD_HASH, apply_one, remote_message

pytestmark = pytest.mark.django_db

LOCAL_HASH = make_password("Changed-Here-Meanwhile-7")


@pytest.fixture
def synced_user():
    assert apply_one(remote_message(version=1)) == "applied"
    return SyncedUserLink.objects.get().user


def meanwhile(monkeypatch, **changes):
    """Make `changes` to the user's row after the apply read it, before it saves."""
    full_clean = User.full_clean

    def full_clean_then_change(user, *args, **kwargs):
        full_clean(user, *args, **kwargs)
        User.objects.filter(pk=user.pk).update(**changes)

    monkeypatch.setattr(User, "full_clean", full_clean_then_change)


def test_a_token_revocation_between_the_read_and_the_save_is_kept(monkeypatch, synced_user):
    meanwhile(monkeypatch, token_generation=F("token_generation") + 1)

    assert apply_one(remote_message(message_type=USER_UPDATED, version=2, first_name="Renamed")) == "applied"

    user = User.objects.get(pk=synced_user.pk)
    assert (user.first_name, user.token_generation) == ("Renamed", 1)


def test_a_password_change_between_the_read_and_the_save_is_kept_when_the_message_has_no_password(
    monkeypatch, synced_user
):
    meanwhile(monkeypatch, password=LOCAL_HASH)
    message = remote_message(message_type=USER_UPDATED, version=2, first_name="Renamed")
    del message.user["password"]

    assert apply_one(message) == "applied"

    assert User.objects.get(pk=synced_user.pk).password == LOCAL_HASH


def test_a_password_change_between_the_read_and_the_save_is_kept_when_the_message_repeats_the_old_one(
    monkeypatch, synced_user
):
    meanwhile(monkeypatch, password=LOCAL_HASH)

    assert apply_one(remote_message(message_type=USER_UPDATED, version=2, password=PASSWORD_HASH)) == "applied"

    assert User.objects.get(pk=synced_user.pk).password == LOCAL_HASH


def test_a_new_password_in_the_message_is_applied(synced_user):
    new_hash = make_password("Sent-From-North-9")

    apply_one(remote_message(message_type=USER_UPDATED, version=2, password=new_hash))

    assert User.objects.get(pk=synced_user.pk).password == new_hash
