"""The token admin: Blacklist selected, Flush expired tokens, filters and search."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from ops_admin.roles import AUDITOR, OPS
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:token_blacklist_outstandingtoken_changelist")
FLUSH = reverse("admin:token_blacklist_outstandingtoken_flush_expired")


def make_token(user=None, *, expires_in=timedelta(days=1), jti=None):
    user = user or UserFactory()
    now = timezone.now()
    return OutstandingToken.objects.create(
        user=user,
        jti=jti or f"jti-{OutstandingToken.objects.count()}-{user.pk}",
        token="t",
        created_at=now,
        expires_at=now + expires_in,
    )


def test_blacklist_selected_blacklists_the_tokens(client_as):
    tokens = [make_token(), make_token()]

    response = client_as(OPS).post(
        CHANGELIST, {"action": "blacklist_selected", "_selected_action": [t.pk for t in tokens]}, follow=True
    )

    assert "2 token(s) blacklisted" in response.content.decode()
    assert BlacklistedToken.objects.count() == 2


def test_blacklist_selected_skips_tokens_already_blacklisted(client_as):
    token = make_token()
    BlacklistedToken.objects.create(token=token)

    response = client_as(OPS).post(
        CHANGELIST, {"action": "blacklist_selected", "_selected_action": [token.pk]}, follow=True
    )

    assert "0 token(s) blacklisted" in response.content.decode()


def test_an_auditor_cannot_blacklist(client_as):
    token = make_token()

    client_as(AUDITOR).post(CHANGELIST, {"action": "blacklist_selected", "_selected_action": [token.pk]})

    assert not BlacklistedToken.objects.exists()


def test_flush_deletes_only_expired_tokens(client_as):
    make_token(expires_in=timedelta(days=-1))
    live = make_token()

    response = client_as(OPS).post(FLUSH, follow=True)

    assert "Flushed 1 expired refresh token(s)." in response.content.decode()
    assert list(OutstandingToken.objects.all()) == [live]


def test_flush_refuses_get(client_as):
    make_token(expires_in=timedelta(days=-1))

    response = client_as(OPS).get(FLUSH)

    assert response.status_code == 405
    assert OutstandingToken.objects.count() == 1


def test_flush_is_forbidden_without_its_permission(client_as):
    make_token(expires_in=timedelta(days=-1))

    response = client_as(AUDITOR).post(FLUSH)

    assert response.status_code == 403
    assert OutstandingToken.objects.count() == 1


def test_flush_needs_the_csrf_token(user_of_kind):
    make_token(expires_in=timedelta(days=-1))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_of_kind(OPS))

    response = client.post(FLUSH)

    assert response.status_code == 403
    assert OutstandingToken.objects.count() == 1


def test_flush_with_the_csrf_token_from_the_page_works(user_of_kind):
    make_token(expires_in=timedelta(days=-1))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_of_kind(OPS))
    client.get(CHANGELIST)

    response = client.post(FLUSH, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == 302
    assert not OutstandingToken.objects.exists()


def test_blacklisted_filter_lists_only_blacklisted_tokens(client_as):
    blacklisted = make_token(jti="jti-black")
    make_token(jti="jti-white")
    BlacklistedToken.objects.create(token=blacklisted)

    content = client_as(AUDITOR).get(CHANGELIST, {"blacklisted": "yes"}).content.decode()

    assert "jti-black" in content
    assert "jti-white" not in content


def test_expired_filter_lists_only_expired_tokens(client_as):
    make_token(jti="jti-old", expires_in=timedelta(days=-1))
    make_token(jti="jti-new")

    content = client_as(AUDITOR).get(CHANGELIST, {"expired": "yes"}).content.decode()

    assert "jti-old" in content
    assert "jti-new" not in content


def test_search_by_email_finds_the_users_tokens(client_as):
    make_token(UserFactory(email="findme@example.com"), jti="jti-found")
    make_token(jti="jti-other")

    content = client_as(AUDITOR).get(CHANGELIST, {"q": "findme@example.com"}).content.decode()

    assert "jti-found" in content
    assert "jti-other" not in content


def test_token_pages_keep_their_default_urls():
    assert CHANGELIST == "/admin/token_blacklist/outstandingtoken/"
    assert reverse("admin:token_blacklist_blacklistedtoken_changelist") == "/admin/token_blacklist/blacklistedtoken/"
