"""The pubsub app's housekeeping task, run on real outbox rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.tasks import purge_published_outbox, purge_stale_heartbeats

Status = QueuePublishHistory.Status
pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_purge_deletes_rows_published_before_the_retention(make_row, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    make_row(status=Status.PUBLISHED, published_at=days_ago(31), next_attempt_at=None)

    purge_published_outbox.now()

    assert not QueuePublishHistory.objects.exists()


def test_purge_keeps_rows_published_within_the_retention(make_row, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    recent = make_row(status=Status.PUBLISHED, published_at=days_ago(29), next_attempt_at=None)

    purge_published_outbox.now()

    assert list(QueuePublishHistory.objects.all()) == [recent]


@pytest.mark.parametrize("status", [Status.PENDING, Status.ERROR, Status.EXPIRED])
def test_purge_keeps_old_rows_that_were_never_published(make_row, settings, status):
    settings.OUTBOX_RETENTION_DAYS = 30
    make_row(status=status, timestamp=days_ago(400))

    purge_published_outbox.now()

    assert QueuePublishHistory.objects.count() == 1


def test_purge_deletes_in_batches_of_the_configured_size(make_row, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    settings.HOUSEKEEPING_BATCH_SIZE = 2
    for _ in range(5):
        make_row(status=Status.PUBLISHED, published_at=days_ago(40), next_attempt_at=None)

    with CaptureQueriesContext(connection) as queries:
        purge_published_outbox.now()

    assert len([q for q in queries if q["sql"].startswith("DELETE")]) == 3
    assert not QueuePublishHistory.objects.exists()


def test_purge_keeps_everything_when_the_retention_is_zero(make_row, settings):
    settings.OUTBOX_RETENTION_DAYS = 0
    make_row(status=Status.PUBLISHED, published_at=days_ago(4000), next_attempt_at=None)

    purge_published_outbox.now()

    assert QueuePublishHistory.objects.count() == 1


def heartbeat(pid: int, *, last_seen) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        name="producer_service", host="relay-1", pid=pid, started_at=last_seen, last_seen=last_seen, state="stopped"
    )


def test_heartbeats_of_processes_gone_longer_than_the_retention_are_purged(settings):
    settings.HEARTBEAT_RETENTION_DAYS = 7
    heartbeat(1, last_seen=days_ago(8))
    recent = heartbeat(2, last_seen=days_ago(6))
    running = heartbeat(3, last_seen=timezone.now())

    purge_stale_heartbeats.now()

    assert set(WorkerHeartbeat.objects.all()) == {recent, running}


def test_heartbeat_retention_zero_keeps_every_row(settings):
    settings.HEARTBEAT_RETENTION_DAYS = 0
    old = heartbeat(1, last_seen=days_ago(400))

    purge_stale_heartbeats.now()

    assert list(WorkerHeartbeat.objects.all()) == [old]
