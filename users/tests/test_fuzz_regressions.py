"""What the API fuzzing (tests/fuzz) found, replayed with the plain test client, and the parser
paths it was checked on by hand: answers that must stay 4xx with the documented error body."""

import json

import pytest
from rest_framework.test import APIClient

from users.models import User

pytestmark = pytest.mark.django_db

USERS_URL = "/api/users/"
ME_URL = "/api/users/me/"
LOGIN_URL = "/api/auth/login/"
RESET_URL = "/api/auth/password-reset/"
CONFIRM_URL = "/api/auth/password-reset/confirm/"


def documented_responses(method, path):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    return schema["paths"][path][method]["responses"]


# --- found by the fuzzing: status codes the schema did not document ------------------------------


def test_list_page_out_of_range_is_a_documented_404(staff_client):
    response = staff_client.get(USERS_URL, {"page": 0})

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert "404" in documented_responses("get", USERS_URL)


def test_unsatisfiable_accept_header_is_a_documented_406_in_json():
    response = APIClient().post(LOGIN_URL, {"username": "a", "password": "b"}, format="json", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert "406" in documented_responses("post", LOGIN_URL)


def test_bad_bearer_token_on_an_authenticated_operation_is_a_documented_401(bearer):
    response = bearer("not-a-jwt").post("/api/auth/logout/", {"refresh": "x"}, format="json")

    assert response.status_code == 401
    assert "detail" in response.json()
    assert "401" in documented_responses("post", "/api/auth/logout/")


def test_form_body_is_a_documented_415_on_every_operation_that_reads_a_body(staff_client):
    response = staff_client.patch(ME_URL, {"first_name": "x"}, format="multipart")

    assert response.status_code == 415
    assert "415" in documented_responses("patch", ME_URL)


# --- parser paths: each must stay a 4xx, never a 500 ---------------------------------------------


def test_unknown_charset_in_content_type_is_read_as_utf8():
    response = APIClient().post(
        LOGIN_URL, data=b'{"username": "a", "password": "b"}', content_type="application/json; charset=nonsense"
    )

    assert response.status_code == 401


def test_body_not_in_its_declared_charset_is_400():
    response = APIClient().post(LOGIN_URL, data=b'{"username": "a"}', content_type="application/json; charset=utf-16")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_integer_beyond_pythons_digit_limit_is_400():
    body = '{"username": %s, "password": "x"}' % ("9" * 5000)

    response = APIClient().post(LOGIN_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_null_byte_in_a_text_column_is_400_naming_the_field(staff_client):
    response = staff_client.patch(ME_URL, {"address": "a\x00b"}, format="json")

    assert response.status_code == 400
    assert "address" in response.json()


@pytest.mark.parametrize("email", ["a\x00@example.com", "\ud800@example.com"])
def test_unstorable_characters_in_the_reset_email_are_400(email):
    response = APIClient().post(RESET_URL, data=json.dumps({"email": email}), content_type="application/json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_lone_surrogate_in_the_reset_uid_is_400_naming_it():
    body = '{"uid": "\\ud800", "token": "x", "new_password": "Fresh-Quartz-Meadow-42"}'

    response = APIClient().post(CONFIRM_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "uid" in response.json()


def test_four_byte_characters_are_stored_and_returned(staff_client, staff_user):
    response = staff_client.patch(ME_URL, {"first_name": "\U0001f600", "address": "\U0001f600"}, format="json")

    assert response.status_code == 200
    assert User.objects.get(pk=staff_user.pk).first_name == "\U0001f600"


def test_long_multibyte_address_is_stored(staff_client, staff_user):
    response = staff_client.patch(ME_URL, {"address": "\u00e9" * 40_000}, format="json")

    assert response.status_code == 200
    assert len(User.objects.get(pk=staff_user.pk).address) == 40_000
