"""The users app's housekeeping tasks, run on real rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from users.models import UserAPIHitLog
from users.tasks import flush_expired_tokens, purge_old_api_hits
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def outstanding(*, expires_in: timedelta, blacklisted: bool = False) -> OutstandingToken:
    token = OutstandingToken.objects.create(
        user=UserFactory(),
        jti=f"jti-{OutstandingToken.objects.count()}-{expires_in}",
        token="t",
        created_at=timezone.now() - timedelta(days=8),
        expires_at=timezone.now() + expires_in,
    )
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


def hit(*, days_ago: float) -> UserAPIHitLog:
    return UserAPIHitLog.objects.create(
        method="GET",
        api_name="/api/users/me/",
        status_code=200,
        duration_ms=1.0,
        timestamp=timezone.now() - timedelta(days=days_ago),
    )


def test_flush_deletes_expired_tokens():
    outstanding(expires_in=-timedelta(hours=1))

    flush_expired_tokens.now()

    assert not OutstandingToken.objects.exists()


def test_flush_deletes_expired_tokens_with_their_blacklist_rows():
    outstanding(expires_in=-timedelta(hours=1), blacklisted=True)

    flush_expired_tokens.now()

    assert not BlacklistedToken.objects.exists()


def test_flush_keeps_tokens_not_yet_expired():
    valid = outstanding(expires_in=timedelta(days=1), blacklisted=True)

    flush_expired_tokens.now()

    assert list(OutstandingToken.objects.all()) == [valid]
    assert BlacklistedToken.objects.get().token == valid


def test_flush_deletes_in_batches_of_the_configured_size(settings):
    settings.HOUSEKEEPING_BATCH_SIZE = 2
    for _ in range(5):
        outstanding(expires_in=-timedelta(hours=1))

    with CaptureQueriesContext(connection) as queries:
        flush_expired_tokens.now()

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and "outstandingtoken" in q["sql"]]
    assert len(deletes) == 3
    assert not OutstandingToken.objects.exists()


def test_purge_deletes_api_hits_older_than_the_retention(settings):
    settings.API_HIT_RETENTION_DAYS = 30
    hit(days_ago=31)
    recent = hit(days_ago=29)

    purge_old_api_hits.now()

    assert list(UserAPIHitLog.objects.all()) == [recent]


def test_purge_deletes_api_hits_in_batches_of_the_configured_size(settings):
    settings.API_HIT_RETENTION_DAYS = 30
    settings.HOUSEKEEPING_BATCH_SIZE = 2
    for _ in range(5):
        hit(days_ago=40)

    with CaptureQueriesContext(connection) as queries:
        purge_old_api_hits.now()

    assert len([q for q in queries if q["sql"].startswith("DELETE")]) == 3
    assert not UserAPIHitLog.objects.exists()


def test_purge_keeps_every_api_hit_when_the_retention_is_zero(settings):
    settings.API_HIT_RETENTION_DAYS = 0
    hit(days_ago=4000)

    purge_old_api_hits.now()

    assert UserAPIHitLog.objects.count() == 1
