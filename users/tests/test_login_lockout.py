"""The API login under django-axes: repeated failures lock a (username, address) pair out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from users.login_lockout import login_lockouts_count, login_lockouts_release
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/api/auth/login/"
LIMIT = settings.AXES_FAILURE_LIMIT


def post_login(username, password, **client_meta):
    return APIClient(**client_meta).post(LOGIN_URL, {"username": username, "password": password}, format="json")


def fail(username, times=LIMIT, **client_meta):
    return [post_login(username, "wrong-password", **client_meta).status_code for _ in range(times)]


def test_failures_up_to_the_limit_lock_the_username_out(student):
    assert fail(student.username) == [401] * (LIMIT - 1) + [429]


def test_locked_out_username_is_refused_even_the_right_password(student):
    fail(student.username)

    response = post_login(student.username, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "access" not in response.json()


def test_lockout_answer_is_json_naming_the_lockout_and_when_to_retry(student):
    fail(student.username)

    response = post_login(student.username, DEFAULT_PASSWORD)

    assert response["Content-Type"] == "application/json"
    assert "Too many failed logins for this account" in response.json()["detail"]
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_unknown_username_is_locked_out_like_a_real_one(db):
    # the same answers as for an existing account: the lockout tells nothing about who exists
    assert fail("nobody-by-this-name") == [401] * (LIMIT - 1) + [429]


def test_lockout_ends_after_the_cool_off(student):
    fail(student.username)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    assert post_login(student.username, DEFAULT_PASSWORD).status_code == 200


def test_refused_try_during_the_lockout_starts_the_cool_off_again(student):
    fail(student.username)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(minutes=1))

    post_login(student.username, DEFAULT_PASSWORD)

    assert AccessAttempt.objects.get().attempt_time > timezone.now() - timedelta(minutes=1)


def test_right_password_before_the_limit_clears_the_failures(student):
    fail(student.username, times=LIMIT - 1)

    assert post_login(student.username, DEFAULT_PASSWORD).status_code == 200
    assert not AccessAttempt.objects.exists()
    assert fail(student.username, times=LIMIT - 1) == [401] * (LIMIT - 1)


def test_unlock_lets_the_user_log_in_again(student):
    fail(student.username)

    unlocked = login_lockouts_release(attempts=AccessAttempt.objects.all(), actor=None)

    assert unlocked == 1
    assert post_login(student.username, DEFAULT_PASSWORD).status_code == 200


def test_lockout_holds_only_for_the_address_that_failed(student):
    fail(student.username, REMOTE_ADDR="203.0.113.7")

    assert post_login(student.username, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 200


def test_lockout_holds_only_for_the_username_that_failed(student, staff_user):
    fail(student.username)

    assert post_login(staff_user.username, DEFAULT_PASSWORD).status_code == 200


def test_forged_forwarded_for_does_not_make_each_try_a_new_address(student, settings):
    # the header names a trusted proxy as its last hop, but the peer is not that proxy
    settings.IPWARE_TRUSTED_PROXIES = ["10.0.0.1"]
    statuses = [
        post_login(
            student.username, "wrong-password", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 10.0.0.1"
        ).status_code
        for n in range(LIMIT)
    ]

    assert statuses[-1] == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_clients_behind_the_trusted_proxy_are_locked_out_one_by_one(student, settings):
    settings.IPWARE_TRUSTED_PROXIES = ["10.0.0.1"]
    fail(student.username, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1")

    response = post_login(student.username, DEFAULT_PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.2")

    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "192.0.2.1"


def test_each_failure_is_kept_in_the_failure_log(student):
    fail(student.username)

    logged = list(AccessFailureLog.objects.order_by("id").values_list("username", "locked_out", "path_info"))

    assert logged == [(student.username, False, LOGIN_URL)] * (LIMIT - 1) + [(student.username, True, LOGIN_URL)]


def test_lockouts_are_counted_per_username_and_address(student, staff_user):
    fail(student.username, REMOTE_ADDR="203.0.113.7")
    fail(student.username, REMOTE_ADDR="198.51.100.9")
    fail(staff_user.username, times=LIMIT - 1)

    assert login_lockouts_count() == 2


def test_failures_from_several_user_agents_add_up_to_one_lockout(student):
    for n in range(LIMIT):
        post_login(student.username, "wrong-password", HTTP_USER_AGENT=f"agent-{n}")

    assert AccessAttempt.objects.count() == LIMIT
    assert login_lockouts_count() == 1
    assert post_login(student.username, DEFAULT_PASSWORD).status_code == 429


def test_overlong_username_is_counted_not_a_server_error(db):
    # longer than axes' username column, which strict MariaDB would refuse
    statuses = fail("x" * 10_000)

    assert statuses == [401] * (LIMIT - 1) + [429]
    assert AccessAttempt.objects.get().username == "x" * 255
