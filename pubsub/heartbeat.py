import os
import socket

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
