from datetime import timedelta

import jwt
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.tokens import TOKEN_GENERATION_CLAIM

pytestmark = pytest.mark.django_db

LOGIN_URL = "/api/auth/login/"
REFRESH_URL = "/api/auth/refresh/"
LOGOUT_URL = "/api/auth/logout/"
LOGOUT_ALL_URL = "/api/auth/logout-all/"
ME_URL = "/api/users/me/"


def post_login(username, password):
    return APIClient().post(LOGIN_URL, {"username": username, "password": password}, format="json")


def post_refresh(refresh):
    return APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json")


def expired(token_class, user):
    token = token_class.for_user(user)
    token[TOKEN_GENERATION_CLAIM] = user.token_generation
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def forged(token):
    """The same claims, signed with a key the server does not know."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, "an-attacker-key-that-is-long-enough-for-hs256", algorithm="HS256")


# --- login ---------------------------------------------------------------------------------------


def test_login_returns_tokens_and_the_user(student):
    response = post_login(student.username, DEFAULT_PASSWORD)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {
        "id": student.id,
        "username": student.username,
        "first_name": student.first_name,
        "last_name": student.last_name,
        "email": student.email,
        "user_type": "student",
    }


def test_login_access_token_authenticates(student, bearer):
    access = post_login(student.username, DEFAULT_PASSWORD).json()["access"]

    response = bearer(access).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["username"] == student.username


def test_login_with_wrong_password_is_401(student):
    response = post_login(student.username, "not-the-password")

    assert response.status_code == 401
    assert "access" not in response.json()


def test_login_with_unknown_username_is_401(db):
    assert post_login("nobody-here", DEFAULT_PASSWORD).status_code == 401


def test_login_of_inactive_user_is_401(db):
    user = UserFactory(is_active=False)

    assert post_login(user.username, DEFAULT_PASSWORD).status_code == 401


def test_login_of_soft_deleted_user_is_401(staff_client, student):
    assert staff_client.delete(f"/api/users/{student.id}/").status_code == 204

    assert post_login(student.username, DEFAULT_PASSWORD).status_code == 401


def test_login_of_deleted_user_is_401_even_if_still_flagged_active(db):
    user = UserFactory(is_deleted=True, is_active=True)

    assert post_login(user.username, DEFAULT_PASSWORD).status_code == 401


@pytest.mark.parametrize("missing", ["username", "password"])
def test_login_without_a_field_is_400_naming_it(student, missing):
    data = {"username": student.username, "password": DEFAULT_PASSWORD}
    del data[missing]

    response = APIClient().post(LOGIN_URL, data, format="json")

    assert response.status_code == 400
    assert missing in response.json()


def test_login_updates_last_login(student):
    post_login(student.username, DEFAULT_PASSWORD)

    student.refresh_from_db()
    assert student.last_login is not None


# --- refresh -------------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair(student, login, bearer):
    tokens = login(student)

    response = post_refresh(tokens["refresh"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != tokens["refresh"]
    assert bearer(body["access"]).get(ME_URL).status_code == 200


def test_rotated_refresh_token_can_be_refreshed_again(student, login):
    rotated = post_refresh(login(student)["refresh"]).json()["refresh"]

    assert post_refresh(rotated).status_code == 200


def test_reusing_a_rotated_refresh_token_is_401(student, login):
    old = login(student)["refresh"]
    assert post_refresh(old).status_code == 200

    assert post_refresh(old).status_code == 401


def test_refresh_of_a_revoked_generation_is_401(student, login):
    refresh = login(student)["refresh"]
    # bump the generation alone (no blacklist entry), so only the generation check can refuse it
    type(student).objects.filter(pk=student.pk).update(token_generation=student.token_generation + 1)

    assert post_refresh(refresh).status_code == 401


def test_refresh_for_an_inactive_user_is_401(student, login):
    refresh = login(student)["refresh"]
    type(student).objects.filter(pk=student.pk).update(is_active=False)

    assert post_refresh(refresh).status_code == 401


def test_refresh_with_an_access_token_is_401(student, login):
    assert post_refresh(login(student)["access"]).status_code == 401


def test_refresh_with_garbage_is_401(db):
    assert post_refresh("not.a.token").status_code == 401


def test_refresh_with_a_forged_token_is_401(student, login):
    assert post_refresh(forged(login(student)["refresh"])).status_code == 401


def test_refresh_with_an_expired_token_is_401(student):
    assert post_refresh(expired(RefreshToken, student)).status_code == 401


def test_refresh_without_the_field_is_400_naming_it(db):
    response = APIClient().post(REFRESH_URL, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


# --- bad tokens on an authenticated endpoint -----------------------------------------------------


def test_garbage_access_token_is_401(bearer, db):
    assert bearer("garbage").get(ME_URL).status_code == 401


def test_forged_access_token_is_401(student, login, bearer):
    assert bearer(forged(login(student)["access"])).get(ME_URL).status_code == 401


def test_expired_access_token_is_401(student, bearer):
    assert bearer(expired(AccessToken, student)).get(ME_URL).status_code == 401


def test_refresh_token_used_as_access_token_is_401(student, login, bearer):
    assert bearer(login(student)["refresh"]).get(ME_URL).status_code == 401


def test_access_token_without_generation_claim_is_401(student, bearer):
    # a token minted without the revocation marker must not bypass revocation
    assert bearer(str(AccessToken.for_user(student))).get(ME_URL).status_code == 401


def test_anonymous_request_to_authenticated_endpoint_is_401(api_client, db):
    assert api_client.get(ME_URL).status_code == 401


# --- logout --------------------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(student, client_for):
    client = client_for(student)

    response = client.post(LOGOUT_URL, {"refresh": client.tokens["refresh"]}, format="json")

    assert response.status_code == 200
    assert post_refresh(client.tokens["refresh"]).status_code == 401


def test_logout_leaves_other_sessions_working(student, client_for, login):
    client = client_for(student)
    other_session = login(student)

    client.post(LOGOUT_URL, {"refresh": client.tokens["refresh"]}, format="json")

    assert post_refresh(other_session["refresh"]).status_code == 200


def test_logout_of_someone_elses_refresh_token_is_400(student, client_for, login):
    victim = UserFactory()
    victim_refresh = login(victim)["refresh"]

    response = client_for(student).post(LOGOUT_URL, {"refresh": victim_refresh}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()
    assert post_refresh(victim_refresh).status_code == 200


def test_logout_requires_authentication(student, login, api_client):
    refresh = login(student)["refresh"]

    response = api_client.post(LOGOUT_URL, {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert post_refresh(refresh).status_code == 200


def test_logout_with_garbage_refresh_is_401(student, client_for):
    assert client_for(student).post(LOGOUT_URL, {"refresh": "garbage"}, format="json").status_code == 401


def test_logout_without_refresh_is_400_naming_it(student, client_for):
    response = client_for(student).post(LOGOUT_URL, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


# --- logout-all ----------------------------------------------------------------------------------


def test_logout_all_revokes_the_access_token_at_once(student, client_for):
    client = client_for(student)

    assert client.post(LOGOUT_ALL_URL).status_code == 200

    assert client.get(ME_URL).status_code == 401


def test_logout_all_revokes_access_tokens_of_other_sessions(student, client_for, bearer, login):
    other_session = login(student)

    client_for(student).post(LOGOUT_ALL_URL)

    assert bearer(other_session["access"]).get(ME_URL).status_code == 401


def test_logout_all_revokes_refresh_tokens(student, client_for, login):
    other_session = login(student)
    client = client_for(student)

    client.post(LOGOUT_ALL_URL)

    assert post_refresh(client.tokens["refresh"]).status_code == 401
    assert post_refresh(other_session["refresh"]).status_code == 401


def test_logout_all_leaves_other_users_signed_in(student, client_for):
    other = client_for(UserFactory())

    client_for(student).post(LOGOUT_ALL_URL)

    assert other.get(ME_URL).status_code == 200


def test_login_after_logout_all_works(student, client_for, bearer):
    client_for(student).post(LOGOUT_ALL_URL)

    response = post_login(student.username, DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(ME_URL).status_code == 200
    assert post_refresh(response.json()["refresh"]).status_code == 200


def test_logout_all_requires_authentication(api_client, db):
    assert api_client.post(LOGOUT_ALL_URL).status_code == 401
