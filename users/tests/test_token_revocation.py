import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from users.models import User
from users.services.tokens import tokens_revoke_for_user
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/users/me/"
REFRESH_URL = "/api/auth/refresh/"


def refresh_status(refresh):
    return APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json").status_code


def test_revoking_rejects_every_earlier_access_token(student, login, bearer):
    sessions = [login(student), login(student)]

    tokens_revoke_for_user(user=student)

    assert [bearer(s["access"]).get(ME_URL).status_code for s in sessions] == [401, 401]


def test_revoking_blacklists_every_outstanding_refresh_token(student, login):
    sessions = [login(student), login(student)]

    blacklisted = tokens_revoke_for_user(user=student)

    assert blacklisted == 2
    assert BlacklistedToken.objects.filter(token__user=student).count() == 2
    assert [refresh_status(s["refresh"]) for s in sessions] == [401, 401]


def test_revoking_twice_blacklists_nothing_new(student, login):
    login(student)
    tokens_revoke_for_user(user=student)

    assert tokens_revoke_for_user(user=student) == 0


def test_revoking_bumps_the_generation_on_the_instance(student):
    before = student.token_generation

    tokens_revoke_for_user(user=student)

    assert student.token_generation == before + 1
    assert User.objects.get(pk=student.pk).token_generation == before + 1


def test_revoking_leaves_other_users_tokens_alone(student, login, bearer):
    other = UserFactory()
    other_session = login(other)

    tokens_revoke_for_user(user=student)

    assert not BlacklistedToken.objects.filter(token__user=other).exists()
    assert bearer(other_session["access"]).get(ME_URL).status_code == 200
    assert refresh_status(other_session["refresh"]) == 200


def test_tokens_issued_after_revoking_work(student, login, bearer):
    tokens_revoke_for_user(user=student)

    session = login(student)

    assert bearer(session["access"]).get(ME_URL).status_code == 200


def test_access_token_from_a_rotated_refresh_is_revoked_too(student, login, bearer):
    rotated = APIClient().post(REFRESH_URL, {"refresh": login(student)["refresh"]}, format="json").json()

    tokens_revoke_for_user(user=student)

    assert bearer(rotated["access"]).get(ME_URL).status_code == 401
    assert refresh_status(rotated["refresh"]) == 401


def test_rotated_refresh_tokens_are_tracked_as_outstanding(student, login):
    rotated = APIClient().post(REFRESH_URL, {"refresh": login(student)["refresh"]}, format="json").json()

    assert OutstandingToken.objects.filter(user=student, token=rotated["refresh"]).exists()


def test_revocation_is_seen_by_the_very_next_request(student, client_for):
    client = client_for(student)
    assert client.get(ME_URL).status_code == 200

    # another process revokes: only the database changes, nothing in this process is told
    User.objects.filter(pk=student.pk).update(token_generation=student.token_generation + 1)

    assert client.get(ME_URL).status_code == 401


def test_deactivated_user_access_token_is_401(student, client_for):
    client = client_for(student)

    User.objects.filter(pk=student.pk).update(is_active=False)

    assert client.get(ME_URL).status_code == 401


def test_deleted_user_access_token_is_401_even_if_still_flagged_active(student, client_for):
    client = client_for(student)

    User.objects.filter(pk=student.pk).update(is_deleted=True)

    assert client.get(ME_URL).status_code == 401
