"""Changing one's own e-mail takes the current password (a stolen access token alone must not
move the address password resets go to), and the old address is told of the change."""

import pytest
from django.core import mail

from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/users/me/"


def own_record_url(user):
    return f"/api/users/{user.pk}/"


@pytest.fixture
def owner(student):
    student.email = "owner@example.com"
    student.save()
    return student


def test_changing_ones_email_without_the_current_password_is_400_naming_it(client_for, owner):
    response = client_for(owner).patch(ME_URL, {"email": "new@example.com"}, format="json")

    assert response.status_code == 400
    assert response.json()["current_password"] == ["Your current password is needed to change your e-mail."]
    owner.refresh_from_db()
    assert owner.email == "owner@example.com"


def test_changing_ones_email_with_a_wrong_password_is_400_naming_it(client_for, owner):
    response = client_for(owner).patch(
        ME_URL, {"email": "new@example.com", "current_password": "Not-The-Password-1"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["current_password"] == ["The current password is not correct."]
    owner.refresh_from_db()
    assert owner.email == "owner@example.com"


def test_changing_ones_email_with_the_current_password_changes_it(client_for, owner):
    response = client_for(owner).patch(
        ME_URL, {"email": "new@example.com", "current_password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert "current_password" not in response.json()
    owner.refresh_from_db()
    assert owner.email == "new@example.com"


def test_the_old_address_is_told_of_the_change(client_for, owner):
    client_for(owner).patch(ME_URL, {"email": "new@example.com", "current_password": DEFAULT_PASSWORD}, format="json")

    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert message.subject == "Your e-mail address was changed"
    assert owner.username in message.body


def test_other_fields_change_without_the_password_or_an_email(client_for, owner):
    response = client_for(owner).patch(ME_URL, {"first_name": "Renamed", "email": "owner@example.com"}, format="json")

    assert response.status_code == 200
    assert mail.outbox == []


def test_a_superuser_changing_their_own_email_through_the_users_api_needs_the_password(superuser_client, superuser):
    response = superuser_client.patch(own_record_url(superuser), {"email": "new@example.com"}, format="json")

    assert response.status_code == 400
    assert "current_password" in response.json()


def test_a_superuser_changing_their_own_email_through_the_users_api_with_the_password(superuser_client, superuser):
    old_email = superuser.email

    response = superuser_client.patch(
        own_record_url(superuser), {"email": "new@example.com", "current_password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert [message.to for message in mail.outbox] == [[old_email]]


def test_a_manager_changes_another_users_email_without_their_password_and_the_owner_is_told(staff_client):
    user = UserFactory(email="owner@example.com")

    response = staff_client.patch(own_record_url(user), {"email": "new@example.com"}, format="json")

    assert response.status_code == 200
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]
