"""Daemon heartbeats: one row per process, beaten while it runs, purged once long gone."""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from pubsub.models import WorkerHeartbeat


def heartbeat_beat(*, name: str, worker_id: str, state: str, processed: int, failed: int, detail: str = "") -> None:
    """Record that this process is alive, with its counters (one row per process)."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(name=name, host=socket.gethostname(), pid=os.getpid()).update(
        last_seen=now, state=state, processed=processed, failed=failed, detail=detail[:500]
    )
    if not updated:
        WorkerHeartbeat.objects.create(
            name=name,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=now,
            last_seen=now,
            state=state,
            processed=processed,
            failed=failed,
            detail=detail[:500],
        )


def heartbeat_purge_stale() -> int | None:
    """Delete the rows of processes not seen for HEARTBEAT_RETENTION_DAYS (every restart leaves a
    row, a pid that never comes back would stay on the dashboard's history forever). A running
    process beats every few seconds, so it is never among them. None when retention is off (0)."""
    days = settings.HEARTBEAT_RETENTION_DAYS
    if not days:
        return None
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
