import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHANGE_URL = "/api/users/me/password/"
RESET_URL = "/api/auth/password-reset/"
CONFIRM_URL = "/api/auth/password-reset/confirm/"
LOGIN_URL = "/api/auth/login/"
ME_URL = "/api/users/me/"
NEW_PASSWORD = "Fresh-Quartz-Meadow-42"


def login_status(username, password):
    return APIClient().post(LOGIN_URL, {"username": username, "password": password}, format="json").status_code


def request_reset(email):
    return APIClient().post(RESET_URL, {"email": email}, format="json")


def uid_and_token(message):
    return (
        re.search(r"^uid: (\S+)$", message.body, re.MULTILINE).group(1),
        re.search(r"^token: (\S+)$", message.body, re.MULTILINE).group(1),
    )


def confirm(uid, token, new_password=NEW_PASSWORD):
    return APIClient().post(CONFIRM_URL, {"uid": uid, "token": token, "new_password": new_password}, format="json")


# --- change --------------------------------------------------------------------------------------


def test_change_password_returns_a_new_token_pair(client_for, student):
    response = client_for(student).post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_change_password_revokes_the_old_access_token(client_for, student):
    client = client_for(student)

    client.post(CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert client.get(ME_URL).status_code == 401


def test_change_password_revokes_the_old_refresh_token(client_for, student):
    client = client_for(student)

    client.post(CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    response = APIClient().post("/api/auth/refresh/", {"refresh": client.tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_change_password_returns_tokens_that_work(client_for, bearer, student):
    tokens = (
        client_for(student)
        .post(CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json")
        .json()
    )

    assert bearer(tokens["access"]).get(ME_URL).status_code == 200
    refreshed = APIClient().post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_login_works_with_the_new_password_only(client_for, student):
    client_for(student).post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert login_status(student.username, NEW_PASSWORD) == 200
    assert login_status(student.username, DEFAULT_PASSWORD) == 401


def test_change_password_with_wrong_old_password_is_400(client_for, student):
    client = client_for(student)

    response = client.post(CHANGE_URL, {"old_password": "wrong-one", "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 400
    assert "old_password" in response.json()
    assert client.get(ME_URL).status_code == 200
    assert login_status(student.username, DEFAULT_PASSWORD) == 200


@pytest.mark.parametrize("weak", ["short", "123456789012", "password1"])
def test_change_password_to_a_weak_one_is_400(client_for, student, weak):
    response = client_for(student).post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": weak}, format="json"
    )

    assert response.status_code == 400
    assert "new_password" in response.json()
    assert login_status(student.username, DEFAULT_PASSWORD) == 200


@pytest.mark.parametrize("missing", ["old_password", "new_password"])
def test_change_password_without_a_field_is_400_naming_it(client_for, student, missing):
    data = {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    del data[missing]

    response = client_for(student).post(CHANGE_URL, data, format="json")

    assert response.status_code == 400
    assert missing in response.json()


def test_change_password_requires_authentication(api_client):
    response = api_client.post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 401


# --- reset ---------------------------------------------------------------------------------------


def test_reset_request_answers_the_same_for_known_and_unknown_emails(student):
    known = request_reset(student.email)
    unknown = request_reset("nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()


def test_reset_request_emails_a_known_address(student):
    request_reset(student.email)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [student.email]


def test_reset_request_sends_nothing_for_an_unknown_address(db):
    request_reset("nobody@example.com")

    assert mail.outbox == []


def test_reset_request_sends_nothing_to_a_deleted_user(db):
    user = UserFactory(is_deleted=True, is_active=False)

    request_reset(user.email)

    assert mail.outbox == []


def test_reset_request_sends_nothing_to_an_inactive_user(db):
    user = UserFactory(is_active=False)

    request_reset(user.email)

    assert mail.outbox == []


def test_reset_request_sends_nothing_to_a_user_without_a_usable_password(db):
    user = UserFactory(password=None)
    user.set_unusable_password()
    user.save()

    request_reset(user.email)

    assert mail.outbox == []


def test_reset_request_matches_the_email_case_insensitively(student):
    request_reset(student.email.upper())

    assert [m.to for m in mail.outbox] == [[student.email]]


def test_reset_request_with_invalid_email_is_400_naming_it(db):
    response = request_reset("not-an-email")

    assert response.status_code == 400
    assert "email" in response.json()


def test_reset_confirm_sets_the_new_password(student):
    request_reset(student.email)

    response = confirm(*uid_and_token(mail.outbox[0]))

    assert response.status_code == 200
    assert login_status(student.username, NEW_PASSWORD) == 200
    assert login_status(student.username, DEFAULT_PASSWORD) == 401


def test_reset_confirm_revokes_existing_tokens(client_for, student):
    client = client_for(student)
    request_reset(student.email)

    confirm(*uid_and_token(mail.outbox[0]))

    assert client.get(ME_URL).status_code == 401
    refreshed = APIClient().post("/api/auth/refresh/", {"refresh": client.tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401


def test_reset_token_works_only_once(student):
    request_reset(student.email)
    uid, token = uid_and_token(mail.outbox[0])
    confirm(uid, token)

    response = confirm(uid, token, "Another-Strong-Pass-77")

    assert response.status_code == 400
    assert login_status(student.username, NEW_PASSWORD) == 200


def test_reset_confirm_with_bad_token_is_400(student):
    request_reset(student.email)
    uid, _ = uid_and_token(mail.outbox[0])

    response = confirm(uid, "bad-token")

    assert response.status_code == 400
    assert "token" in response.json()
    assert login_status(student.username, DEFAULT_PASSWORD) == 200


def test_reset_token_of_another_user_is_400(student):
    other = UserFactory()
    request_reset(student.email)
    request_reset(other.email)
    student_uid, _ = uid_and_token(mail.outbox[0])
    _, other_token = uid_and_token(mail.outbox[1])

    assert confirm(student_uid, other_token).status_code == 400


@pytest.mark.parametrize("uid", ["!!!", "MTIzNDU2Nzg5MA", "YWJj", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_reset_confirm_with_bad_uid_is_400(student, uid):
    request_reset(student.email)
    _, token = uid_and_token(mail.outbox[0])

    assert confirm(uid, token).status_code == 400


def test_reset_confirm_with_weak_password_is_400_naming_it(student):
    request_reset(student.email)

    response = confirm(*uid_and_token(mail.outbox[0]), new_password="123")

    assert response.status_code == 400
    assert "new_password" in response.json()
    assert login_status(student.username, DEFAULT_PASSWORD) == 200


@pytest.mark.parametrize("missing", ["uid", "token", "new_password"])
def test_reset_confirm_without_a_field_is_400_naming_it(missing, db):
    data = {"uid": "MQ", "token": "x", "new_password": NEW_PASSWORD}
    del data[missing]

    response = APIClient().post(CONFIRM_URL, data, format="json")

    assert response.status_code == 400
    assert missing in response.json()
