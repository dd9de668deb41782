"""user_type admin (every right on the users API) is a privilege like is_staff: only superusers
grant it (API, admin, import), sync applies it only with USER_SYNC_ACCEPT_PRIVILEGES, and staff,
superuser and API administrator accounts are changed by superusers only. Staff and superusers get
no password reset by e-mail unless PASSWORD_RESET_ALLOW_STAFF."""

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from users.models import SyncedUserLink, User
from users.resources import user_import_resource_class_for
from users.services.passwords import password_reset_confirm, password_reset_request
from users.sync_payload import USER_UPDATED
from users.tests.factories import (
    DEFAULT_PASSWORD,
    AdminTypeUserFactory,
    StaffUserFactory,
    SuperuserFactory,
    UserFactory,
)
from users.tests.sync_messages import APPLY_PATHS, remote_message

pytestmark = pytest.mark.django_db

USERS_URL = "/api/users/"
ADMIN = User.UserType.ADMIN
PRIVILEGED_ACCOUNT_MESSAGE = (
    "Only a superuser may change or delete a staff, superuser or API administrator (user_type admin) account."
)
PRIVILEGED = {
    "staff": StaffUserFactory,
    "superuser": SuperuserFactory,
    "api-admin": AdminTypeUserFactory,
}


def detail_url(user):
    return f"{USERS_URL}{user.pk}/"


def staff_with(*codenames):
    user = StaffUserFactory()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="users", codename__in=codenames))
    return user


@pytest.fixture
def api_admin_client(client_for, admin_type_user):
    return client_for(admin_type_user)


# --- the users API -------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["staff", "api-admin"])
def test_a_non_superuser_cannot_create_an_api_administrator(caller, staff_client, api_admin_client):
    client = staff_client if caller == "staff" else api_admin_client

    response = client.post(
        USERS_URL, {"username": "new.admin", "user_type": ADMIN, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["user_type"] == ["Only a superuser may make a user an API administrator (user_type admin)."]
    assert not User.objects.filter(username="new.admin").exists()


def test_a_non_superuser_cannot_make_a_user_an_api_administrator(api_admin_client, student):
    response = api_admin_client.patch(detail_url(student), {"user_type": ADMIN}, format="json")

    assert response.status_code == 400
    student.refresh_from_db()
    assert student.user_type == User.UserType.STUDENT


def test_a_superuser_makes_a_user_an_api_administrator(superuser_client, student):
    response = superuser_client.patch(detail_url(student), {"user_type": ADMIN}, format="json")

    assert response.status_code == 200
    student.refresh_from_db()
    assert student.user_type == ADMIN


def test_a_non_superuser_still_sets_other_user_types(api_admin_client, student):
    response = api_admin_client.patch(detail_url(student), {"user_type": "teacher"}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize("target", PRIVILEGED)
def test_an_api_administrator_cannot_change_a_privileged_accounts_email(api_admin_client, target):
    account = PRIVILEGED[target](email="owner@example.com")

    response = api_admin_client.patch(detail_url(account), {"email": "attacker@example.com"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": PRIVILEGED_ACCOUNT_MESSAGE}
    account.refresh_from_db()
    assert account.email == "owner@example.com"


@pytest.mark.parametrize("target", PRIVILEGED)
def test_a_non_superuser_cannot_delete_a_privileged_account(staff_client, target):
    account = PRIVILEGED[target]()

    response = staff_client.delete(detail_url(account))

    assert response.status_code == 403
    account.refresh_from_db()
    assert not account.is_deleted


@pytest.mark.parametrize("target", PRIVILEGED)
def test_a_superuser_changes_a_privileged_account(superuser_client, target):
    account = PRIVILEGED[target]()

    assert superuser_client.patch(detail_url(account), {"first_name": "After"}, format="json").status_code == 200


def test_a_non_superuser_still_reads_a_privileged_account(api_admin_client):
    assert api_admin_client.get(detail_url(StaffUserFactory())).status_code == 200


# --- the admin -----------------------------------------------------------------------------------


def test_staff_cannot_make_a_user_an_api_administrator_in_the_admin(client, student):
    client.force_login(staff_with("view_user", "change_user"))

    response = client.post(
        reverse("admin:users_user_change", args=[student.pk]),
        {
            "username": student.username,
            "user_type": ADMIN,
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 200  # the form again, with its error
    assert "user_type" in response.context["adminform"].form.errors
    student.refresh_from_db()
    assert student.user_type == User.UserType.STUDENT


def test_staff_cannot_add_an_api_administrator_in_the_admin(client):
    client.force_login(staff_with("view_user", "add_user"))

    client.post(
        reverse("admin:users_user_add"),
        {
            "username": "new.admin",
            "user_type": ADMIN,
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
            "usable_password": "true",
        },
    )

    assert not User.objects.filter(username="new.admin").exists()


def test_the_admin_offers_user_type_admin_to_superusers_only(client, student):
    client.force_login(staff_with("view_user", "change_user"))
    staff_choices = (
        client.get(reverse("admin:users_user_change", args=[student.pk]))
        .context["adminform"]
        .form.fields["user_type"]
        .choices
    )
    client.force_login(SuperuserFactory())
    superuser_choices = (
        client.get(reverse("admin:users_user_change", args=[student.pk]))
        .context["adminform"]
        .form.fields["user_type"]
        .choices
    )

    assert ADMIN not in [value for value, _ in staff_choices]
    assert ADMIN in [value for value, _ in superuser_choices]


def test_staff_cannot_change_an_api_administrator_in_the_admin(client):
    account = AdminTypeUserFactory(email="owner@example.com")
    client.force_login(staff_with("view_user", "change_user"))

    response = client.post(
        reverse("admin:users_user_change", args=[account.pk]),
        {
            "username": account.username,
            "user_type": ADMIN,
            "email": "attacker@example.com",
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.email == "owner@example.com"


# --- the import ----------------------------------------------------------------------------------


def import_rows(importer, *rows):
    data = tablib.Dataset(*rows, headers=["username", "email", "user_type", "password"])
    return user_import_resource_class_for(importer)().import_data(data, dry_run=True, user=importer)


def test_a_staff_import_cannot_create_api_administrators():
    result = import_rows(staff_with("view_user", "add_user"), ("new.admin", "a@example.com", ADMIN, DEFAULT_PASSWORD))

    assert [row.number for row in result.invalid_rows] == [1]
    assert "user_type" in result.invalid_rows[0].error_dict


def test_a_superuser_import_may_create_api_administrators():
    result = import_rows(SuperuserFactory(), ("new.admin", "a@example.com", ADMIN, DEFAULT_PASSWORD))

    assert not result.has_validation_errors()
    assert result.valid_rows()[0].instance.user_type == ADMIN


def test_an_import_whose_creator_is_gone_cannot_create_api_administrators():
    result = import_rows(None, ("new.admin", "a@example.com", ADMIN, DEFAULT_PASSWORD))

    assert "user_type" in result.invalid_rows[0].error_dict


# --- sync ----------------------------------------------------------------------------------------


@APPLY_PATHS
def test_sync_creates_no_api_administrator_by_default(apply):
    assert apply(remote_message(user_type=ADMIN)) == "applied"

    assert User.objects.get(username="remote.alice").user_type == User.UserType.STUDENT


@APPLY_PATHS
def test_sync_makes_no_api_administrator_of_a_user_by_default(apply):
    apply(remote_message(version=1, user_type="teacher"))

    assert apply(remote_message(message_type=USER_UPDATED, version=2, user_type=ADMIN, first_name="Eve")) == "applied"

    user = SyncedUserLink.objects.get().user
    assert (user.user_type, user.first_name) == ("teacher", "Eve")


@APPLY_PATHS
def test_sync_applies_user_type_admin_when_the_receiver_accepts_privileges(apply, settings):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = True

    apply(remote_message(user_type=ADMIN))

    assert User.objects.get(username="remote.alice").user_type == ADMIN


# --- password reset ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["staff", "superuser"])
def test_no_reset_email_goes_to_staff_or_superusers(target):
    account = PRIVILEGED[target](email="boss@example.com")

    password_reset_request(email=account.email)

    assert mail.outbox == []


def test_staff_get_reset_emails_when_the_setting_allows_it(settings):
    settings.PASSWORD_RESET_ALLOW_STAFF = True
    StaffUserFactory(email="boss@example.com")

    password_reset_request(email="boss@example.com")

    assert len(mail.outbox) == 1


def test_a_reset_link_of_a_user_who_became_staff_is_refused():
    user = UserFactory()
    uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    User.objects.filter(pk=user.pk).update(is_staff=True)

    with pytest.raises(Exception, match="invalid or has expired"):
        password_reset_confirm(uid=uid, token=token, new_password="Fresh-Quartz-Meadow-42")

    assert User.objects.get(pk=user.pk).check_password(DEFAULT_PASSWORD)
