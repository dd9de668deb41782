"""The users admin: Revoke all tokens, History, privileges for superusers only."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from users.models import User
from users.tests.factories import StaffUserFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:users_user_changelist")


def staff_with(*perms):
    user = StaffUserFactory()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def test_revoke_all_tokens_blacklists_refresh_tokens_and_bumps_the_generation(client):
    target = UserFactory()
    RefreshToken.for_user(target)
    client.force_login(staff_with("users.view_user", "ops_admin.manage_tokens"))

    response = client.post(CHANGELIST, {"action": "revoke_tokens", "_selected_action": [target.pk]}, follow=True)

    assert "Revoked every token of 1 user(s): 1 refresh token(s) blacklisted" in response.content.decode()
    assert BlacklistedToken.objects.filter(token__user=target).count() == 1
    assert User.objects.get(pk=target.pk).token_generation == 1


def test_revoke_all_tokens_needs_manage_tokens(client):
    target = UserFactory()
    client.force_login(staff_with("users.view_user", "users.change_user"))

    client.post(CHANGELIST, {"action": "revoke_tokens", "_selected_action": [target.pk]})

    assert User.objects.get(pk=target.pk).token_generation == 0


def test_history_page_shows_field_by_field_changes(client):
    user = UserFactory(email="before@example.com")
    user.email = "after@example.com"
    user.save()
    client.force_login(SuperuserFactory())

    response = client.get(reverse("admin:users_user_auditlog", args=[user.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "before@example.com" in content
    assert "after@example.com" in content


def test_staff_cannot_grant_themselves_superuser_or_groups(client):
    me = staff_with("users.view_user", "users.change_user")
    client.force_login(me)
    ops = Group.objects.get_or_create(name="Ops")[0]

    client.post(
        reverse("admin:users_user_change", args=[me.pk]),
        {
            "username": me.username,
            "user_type": me.user_type,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [ops.pk],
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    me.refresh_from_db()
    assert not me.is_superuser
    assert not me.groups.exists()
    assert me.user_permissions.count() == 2


def test_staff_cannot_edit_a_privileged_account(client):
    admin_account = SuperuserFactory()
    client.force_login(staff_with("users.view_user", "users.change_user"))

    response = client.post(
        reverse("admin:auth_user_password_change", args=[admin_account.pk]),
        {"password1": "Another-Str0ng-Pass", "password2": "Another-Str0ng-Pass"},
    )

    assert response.status_code == 403


def test_staff_cannot_open_groups(client):
    client.force_login(staff_with("auth.view_group", "auth.change_group"))

    response = client.get(reverse("admin:auth_group_changelist"))

    assert response.status_code == 403


def test_superuser_can_grant_groups(client):
    target = StaffUserFactory()
    ops = Group.objects.get_or_create(name="Ops")[0]
    client.force_login(SuperuserFactory())

    client.post(
        reverse("admin:users_user_change", args=[target.pk]),
        {
            "username": target.username,
            "user_type": target.user_type,
            "is_active": "on",
            "is_staff": "on",
            "groups": [ops.pk],
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert list(target.groups.all()) == [ops]


def test_get_never_changes_a_user(client):
    target = UserFactory()
    client.force_login(SuperuserFactory())
    entries = LogEntry.objects.count()

    client.get(CHANGELIST, {"action": "revoke_tokens", "_selected_action": [target.pk]})

    assert User.objects.get(pk=target.pk).token_generation == 0
    assert LogEntry.objects.count() == entries
