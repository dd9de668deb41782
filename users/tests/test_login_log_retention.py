"""axes' login logs are kept LOGIN_LOG_RETENTION_DAYS, then purged by the daily task."""

from datetime import timedelta

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.utils import timezone

from users.login_lockout import login_logs_purge_expired

pytestmark = pytest.mark.django_db


def _logged(model, *, days_ago: int):
    row = model.objects.create(username="someone", ip_address="203.0.113.9", user_agent="curl")
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(days=days_ago))
    return row


def test_login_logs_older_than_the_retention_are_purged(settings):
    settings.LOGIN_LOG_RETENTION_DAYS = 30
    old_failure, new_failure = _logged(AccessFailureLog, days_ago=31), _logged(AccessFailureLog, days_ago=29)
    old_login, new_login = _logged(AccessLog, days_ago=31), _logged(AccessLog, days_ago=1)

    assert login_logs_purge_expired() == 2

    assert list(AccessFailureLog.objects.values_list("pk", flat=True)) == [new_failure.pk]
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [new_login.pk]
    assert not AccessFailureLog.objects.filter(pk=old_failure.pk).exists()
    assert not AccessLog.objects.filter(pk=old_login.pk).exists()


def test_zero_retention_keeps_the_login_logs(settings):
    settings.LOGIN_LOG_RETENTION_DAYS = 0
    _logged(AccessFailureLog, days_ago=3650)

    assert login_logs_purge_expired() is None
    assert AccessFailureLog.objects.count() == 1
