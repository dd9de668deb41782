"""Every change of the password hash and every deactivation revokes the user's tokens, whatever
path makes it: the rule lives in User.save (and the sync batch's bulk UPDATE), not in each view."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from users.models import SyncedUserLink, User
from users.services.tokens import tokens_revoke_for_user
from users.sync_payload import USER_UPDATED
from users.tests.factories import DEFAULT_PASSWORD, SuperuserFactory, UserFactory
from users.tests.sync_messages import APPLY_PATHS, remote_message
from users.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db

ME_URL = "/api/users/me/"
NEW_PASSWORD = "Fresh-Quartz-Meadow-42"


def access_works(tokens) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client.get(ME_URL).status_code == 200


def refresh_works(tokens) -> bool:
    return APIClient().post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 200


def revoked(tokens) -> bool:
    return not access_works(tokens) and not refresh_works(tokens)


def admin_change_form(user, **changes):
    """The admin change form of `user` as a superuser posts it back, with `changes`."""
    data = {
        "username": user.username,
        "user_type": user.user_type,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
    } | changes
    return {key: value for key, value in data.items() if value != ""}


def synced_user(apply):
    assert apply(remote_message(version=1)) == "applied"
    return SyncedUserLink.objects.get().user


def test_the_admin_password_change_form_revokes_the_users_tokens(client):
    user = UserFactory()
    tokens = token_pair_for_user(user)
    client.force_login(SuperuserFactory())

    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert revoked(tokens)


def test_deactivating_in_the_admin_revokes_tokens_for_good(client):
    user = UserFactory()
    tokens = token_pair_for_user(user)
    client.force_login(SuperuserFactory())

    response = client.post(reverse("admin:users_user_change", args=[user.pk]), admin_change_form(user, is_active=""))
    assert response.status_code == 302
    User.objects.filter(pk=user.pk).update(is_active=True)

    assert revoked(tokens)


def test_the_api_password_change_revokes_once_and_audits_it(client_for):
    user = UserFactory()
    client = client_for(user)

    client.post(
        "/api/users/me/password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert revoked(client.tokens)
    assert User.objects.get(pk=user.pk).token_generation == 1
    [entry] = LogEntry.objects.filter(object_id=user.pk, additional_data__admin_action="revoke_tokens")
    assert entry.actor == user


def test_a_password_reset_revokes_the_users_tokens(client_for):
    from django.core import mail

    from users.services.passwords import password_reset_confirm, password_reset_request

    user = UserFactory()
    tokens = client_for(user).tokens
    password_reset_request(email=user.email)
    body = mail.outbox[0].body
    uid = body.split("uid: ")[1].split()[0]
    token = body.split("token: ")[1].split()[0]

    password_reset_confirm(uid=uid, token=token, new_password=NEW_PASSWORD)

    assert revoked(tokens)


def test_a_password_set_on_the_model_anywhere_revokes_the_tokens():
    user = UserFactory()
    tokens = token_pair_for_user(user)

    user.set_password(NEW_PASSWORD)
    user.save()

    assert revoked(tokens)
    assert user.token_generation == 1


def test_a_save_that_changes_neither_password_nor_activity_keeps_the_tokens():
    user = UserFactory()
    tokens = token_pair_for_user(user)

    user.first_name = "Renamed"
    user.save()

    assert access_works(tokens)
    assert refresh_works(tokens)


def test_an_unusable_password_replaced_by_another_unusable_one_keeps_the_tokens():
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password=make_password(None))
    user = User.objects.get(pk=user.pk)
    tokens = token_pair_for_user(user)

    user.set_unusable_password()
    user.save()

    assert access_works(tokens)


def test_saving_a_copy_read_before_a_revocation_keeps_the_tokens_revoked():
    user = UserFactory()
    tokens = token_pair_for_user(user)
    stale = User.objects.get(pk=user.pk)
    tokens_revoke_for_user(user=user)

    stale.first_name = "Renamed"
    stale.save()

    assert User.objects.get(pk=user.pk).token_generation == 1
    assert not access_works(tokens)


@APPLY_PATHS
def test_a_password_changed_by_sync_revokes_the_users_tokens(apply):
    user = synced_user(apply)
    tokens = token_pair_for_user(user)
    new_password = make_password(NEW_PASSWORD)

    assert apply(remote_message(message_type=USER_UPDATED, version=2, password=new_password)) == "applied"

    assert revoked(tokens)
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1


@APPLY_PATHS
def test_an_update_by_sync_with_the_same_password_keeps_the_tokens(apply):
    user = synced_user(apply)
    tokens = token_pair_for_user(user)

    assert apply(remote_message(message_type=USER_UPDATED, version=2, first_name="Renamed")) == "applied"

    assert access_works(tokens)
    assert refresh_works(tokens)


@APPLY_PATHS
@pytest.mark.parametrize("deactivation", [{"is_active": False}, {"is_deleted": True}], ids=["inactive", "deleted"])
def test_a_deactivation_by_sync_revokes_tokens_for_good(apply, deactivation):
    user = synced_user(apply)
    tokens = token_pair_for_user(user)
    apply(remote_message(message_type=USER_UPDATED, version=2, **deactivation))

    assert apply(remote_message(message_type=USER_UPDATED, version=3, is_active=True, is_deleted=False)) == "applied"

    assert revoked(tokens)


def test_a_rehash_at_login_revokes_no_token_and_sends_no_message(settings):
    from pubsub.models import QueuePublishHistory

    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory()
    tokens = token_pair_for_user(user)
    # a hash made with other parameters than this deployment's: the next login rehashes it
    User.objects.filter(pk=user.pk).update(
        password=make_password(DEFAULT_PASSWORD, hasher=PBKDF2PasswordHasher(), salt="s" * 22)
    )
    messages_before = QueuePublishHistory.objects.count()

    response = APIClient().post(
        "/api/auth/login/", {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )

    user.refresh_from_db()
    assert response.status_code == 200
    assert user.password.startswith("md5$")
    assert access_works(response.json()) and refresh_works(response.json())
    assert access_works(tokens) and refresh_works(tokens)
    assert QueuePublishHistory.objects.count() == messages_before
