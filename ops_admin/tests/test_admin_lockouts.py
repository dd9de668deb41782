"""Login lockouts in the admin: the admin login page under django-axes, the lockout lists, and
Ops' unlock action."""

import pytest
from asgiref.sync import async_to_sync
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.test import AsyncClient, Client
from django.urls import reverse

from ops_admin.roles import AUDITOR, OPS, SUPPORT
from users.tests.factories import DEFAULT_PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
LOGIN = "admin:login"
ATTEMPTS = "admin:axes_accessattempt_changelist"


def admin_login(client, username, password):
    return client.post(reverse(LOGIN), {"username": username, "password": password})


def locked_attempt(username="target", ip_address="203.0.113.7", failures=LIMIT, user_agent="curl/8"):
    return AccessAttempt.objects.create(
        username=username,
        ip_address=ip_address,
        user_agent=user_agent,
        failures_since_start=failures,
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/api/auth/login/",
    )


def unlock(client, *attempts):
    return client.post(
        reverse(ATTEMPTS), {"action": "unlock_selected", "_selected_action": [a.pk for a in attempts]}, follow=True
    )


# --- the admin login ------------------------------------------------------------------------------


def test_admin_login_answers_the_lockout_page_at_the_limit(client):
    user = StaffUserFactory()

    responses = [admin_login(client, user.username, "wrong-password") for _ in range(LIMIT)]

    assert [r.status_code for r in responses] == [200] * (LIMIT - 1) + [429]
    page = responses[-1].content.decode()
    assert 'id="login-locked-out"' in page
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page


def test_locked_out_admin_login_refuses_the_right_password(client):
    user = StaffUserFactory()
    for _ in range(LIMIT):
        admin_login(client, user.username, "wrong-password")

    response = admin_login(client, user.username, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_lockout_page_is_answered_under_asgi_too(client):
    user = StaffUserFactory()
    for _ in range(LIMIT):
        admin_login(client, user.username, "wrong-password")

    response = async_to_sync(AsyncClient().post)(
        reverse(LOGIN), {"username": user.username, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 429
    assert 'id="login-locked-out"' in response.content.decode()


def test_admin_login_is_kept_in_the_admin_logins(client):
    user = StaffUserFactory()

    admin_login(client, user.username, DEFAULT_PASSWORD)

    assert list(AccessLog.objects.values_list("username", flat=True)) == [user.username]


# --- the lists ------------------------------------------------------------------------------------


def test_attempts_list_shows_the_pair_and_that_it_is_locked(client_as):
    locked_attempt()

    response = client_as(AUDITOR).get(reverse(ATTEMPTS))

    row = response.context["cl"].result_list[0]
    assert (row.username, row.ip_address, row.pair_failures, row.locks_out) == ("target", "203.0.113.7", LIMIT, True)


def test_attempts_of_one_pair_from_several_user_agents_add_up(client_as):
    locked_attempt(failures=LIMIT - 1, user_agent="agent-a")
    locked_attempt(failures=1, user_agent="agent-b")

    response = client_as(AUDITOR).get(reverse(ATTEMPTS), {"locked_out": "yes"})

    assert [row.locks_out for row in response.context["cl"].result_list] == [True, True]


def test_attempts_without_an_address_add_up_as_one_pair(client_as):
    locked_attempt(ip_address=None, failures=LIMIT - 1, user_agent="agent-a")
    locked_attempt(ip_address=None, failures=1, user_agent="agent-b")

    response = client_as(AUDITOR).get(reverse(ATTEMPTS))

    assert [row.pair_failures for row in response.context["cl"].result_list] == [LIMIT, LIMIT]


def test_locked_out_filter_leaves_out_pairs_under_the_limit_or_past_the_cool_off(client_as):
    locked_attempt(username="locked")
    locked_attempt(username="under", failures=LIMIT - 1)
    expired = locked_attempt(username="expired")
    AccessAttempt.objects.filter(pk=expired.pk).update(attempt_time=expired.attempt_time - settings.AXES_COOLOFF_TIME)

    response = client_as(AUDITOR).get(reverse(ATTEMPTS), {"locked_out": "yes"})

    assert [row.username for row in response.context["cl"].result_list] == ["locked"]


def test_failed_logins_list_shows_each_failure(client, client_as):
    user = StaffUserFactory()
    for _ in range(2):
        admin_login(client, user.username, "wrong-password")

    response = client_as(AUDITOR).get(reverse("admin:axes_accessfailurelog_changelist"))

    assert [row.username for row in response.context["cl"].result_list] == [user.username] * 2


@pytest.mark.parametrize("kind", [AUDITOR, SUPPORT, OPS])
def test_no_role_can_change_or_delete_an_attempt(client_as, kind):
    attempt = locked_attempt()
    client = client_as(kind)

    client.post(reverse("admin:axes_accessattempt_change", args=[attempt.pk]), {"failures_since_start": 0})
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert AccessAttempt.objects.get().failures_since_start == LIMIT


# --- unlocking ------------------------------------------------------------------------------------


def test_unlock_action_clears_every_attempt_of_the_pair(client_as):
    attempt = locked_attempt(user_agent="agent-a")
    locked_attempt(user_agent="agent-b")
    other_address = locked_attempt(ip_address="198.51.100.9")

    response = unlock(client_as(OPS), attempt)

    assert list(AccessAttempt.objects.all()) == [other_address]
    assert "1 username/address pair(s) unlocked." in response.content.decode()


def test_unlock_is_audited_with_the_actor_per_attempt(client_as):
    attempt = locked_attempt()
    client = client_as(OPS)

    unlock(client, attempt)

    entry = LogEntry.objects.get(additional_data__admin_action="unlock_logins")
    assert (entry.actor, entry.object_pk) == (client.user, str(attempt.pk))
    assert entry.object_repr == "target from 203.0.113.7"
    assert entry.changes_dict == {"failures_since_start": [str(LIMIT), "0"]}


def test_unlocked_user_logs_in_again_through_the_admin(client, client_as):
    user = StaffUserFactory()
    for _ in range(LIMIT):
        admin_login(client, user.username, "wrong-password")

    unlock(client_as(OPS), *AccessAttempt.objects.all())

    response = admin_login(Client(), user.username, DEFAULT_PASSWORD)
    assert response.status_code == 302


@pytest.mark.parametrize("kind", [AUDITOR, SUPPORT])
def test_unlock_action_is_refused_to_auditors_and_support(client_as, kind):
    attempt = locked_attempt()

    unlock(client_as(kind), attempt)

    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_unlock_needs_the_csrf_token(user_of_kind):
    attempt = locked_attempt()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_of_kind(OPS))

    response = unlock(client, attempt)

    assert response.status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_unlock_is_not_run_by_a_get(client_as):
    attempt = locked_attempt()

    client_as(OPS).get(reverse(ATTEMPTS), {"action": "unlock_selected", "_selected_action": attempt.pk})

    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


# --- the dashboard --------------------------------------------------------------------------------


def test_dashboard_counts_the_pairs_locked_out_now(client_as):
    locked_attempt(user_agent="agent-a")
    locked_attempt(user_agent="agent-b")
    locked_attempt(ip_address="198.51.100.9")
    locked_attempt(username="under", failures=LIMIT - 1)

    response = client_as(OPS).get(reverse("admin:index"))

    assert response.context["ops_dashboard"].login_lockouts == 2
    assert 'id="login-lockouts">2<' in response.content.decode()
