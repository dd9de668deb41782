"""Electing the one scheduler that runs tasks, through the database.

One lease row (SchedulerLease), stamped and compared on the database's clock (pubsub.dbclock):
the leader renews it every third of SCHEDULER_LEASE_SECS, the others try to take it over and
succeed only once it has expired. Why a row and not MySQL's GET_LOCK on a dedicated connection:
a named lock lives and dies with one connection, so a network blip drops it silently while the
old leader may still be running a task, and a proxy or pooler in front of the database can move
it; the row says who leads for as long as it says, whatever happens to connections, is visible to
the dashboard (which host leads), and works on SQLite too. The cost is the takeover delay: up to
one lease after a leader dies without releasing it (SIGKILL, power loss); a leader that stops
cleanly releases it at once.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from pubsub.dbclock import DatabaseNow, database_time
from scheduler.models import SchedulerLease

logger = logging.getLogger(__name__)

LEASE_NAME = "dj_tasks_scheduler"
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def _lease_row() -> None:
    SchedulerLease.objects.bulk_create([SchedulerLease(name=LEASE_NAME, expires_at=NEVER)], ignore_conflicts=True)


def scheduler_lease_acquire(*, holder: str, host: str, pid: int, lease_secs: float) -> bool:
    """Renew the lease if `holder` has it, else take it over if it has expired. True: `holder`
    leads until lease_secs from now on the database's clock. Each statement is one atomic UPDATE:
    of two schedulers trying at once, one matches the row."""
    _lease_row()
    lease = SchedulerLease.objects.filter(name=LEASE_NAME)
    expires = database_time(plus_secs=lease_secs)
    if lease.filter(holder=holder).update(expires_at=expires, renewed_at=DatabaseNow()):
        return True
    return bool(
        lease.filter(expires_at__lt=DatabaseNow()).update(
            holder=holder,
            host=host,
            pid=pid,
            acquired_at=DatabaseNow(),
            renewed_at=DatabaseNow(),
            expires_at=expires,
        )
    )


def scheduler_lease_release(*, holder: str) -> bool:
    """Give the lease up (a clean stop): another scheduler takes over on its next try."""
    return bool(
        SchedulerLease.objects.filter(name=LEASE_NAME, holder=holder).update(expires_at=database_time(plus_secs=-1.0))
    )


@dataclass(frozen=True)
class SchedulerLeader:
    holder: str
    host: str
    pid: int | None
    since: datetime | None
    expires_at: datetime


def scheduler_leader() -> SchedulerLeader | None:
    """Who leads now (a lease not yet expired on the database's clock), or None."""
    lease = SchedulerLease.objects.filter(name=LEASE_NAME, expires_at__gte=DatabaseNow()).exclude(holder="").first()
    if lease is None:
        return None
    return SchedulerLeader(lease.holder, lease.host, lease.pid, lease.acquired_at, lease.expires_at)


class LeaseKeeper(threading.Thread):
    """Keeps trying for the lease, and renewing it once held, on a thread of its own (with its
    own database connection), so a long task does not let the lease lapse. `leading()` is True
    only while a renewal is known to hold: the time of the last success is taken before its
    UPDATE was sent, and the lease counted a second short, so this process stops starting tasks
    before another could start."""

    def __init__(self, *, holder: str, host: str, pid: int, lease_secs: float | None = None, on_beat=None):
        super().__init__(name="scheduler-lease", daemon=True)
        self.holder, self.host, self.pid = holder, host, pid
        self.lease_secs = lease_secs or settings.SCHEDULER_LEASE_SECS
        self.on_beat = on_beat
        self._stopping = threading.Event()
        self._leading_until = 0.0
        self._last_try = float("-inf")
        self._was_leading = False
        self.terms = 0  # times this process became the leader

    def leading(self) -> bool:
        return time.monotonic() < self._leading_until

    def renewal_due(self) -> bool:
        return time.monotonic() - self._last_try >= self.lease_secs / 3

    def try_once(self) -> bool:
        sent_at = self._last_try = time.monotonic()
        try:
            held = scheduler_lease_acquire(holder=self.holder, host=self.host, pid=self.pid, lease_secs=self.lease_secs)
        except Exception:  # noqa: BLE001 - a database outage: not leading until a renewal succeeds
            logger.warning("scheduler lease: the database did not answer", exc_info=True)
            connection.close()
            held = False
        self._leading_until = sent_at + max(self.lease_secs - 1.0, self.lease_secs / 2) if held else 0.0
        if held and not self._was_leading:
            self.terms += 1
            logger.info("scheduler %s leads (lease %.0fs)", self.holder, self.lease_secs)
        elif self._was_leading and not held:
            logger.warning("scheduler %s lost the lease; standing by", self.holder)
        self._was_leading = held
        if self.on_beat is not None:
            self.on_beat(held)
        return held

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.try_once()
                self._stopping.wait(self.lease_secs / 3)
        finally:
            connection.close()

    def stop(self, *, release: bool = True) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(10)
        self._leading_until = 0.0
        if release and self._was_leading:
            try:
                scheduler_lease_release(holder=self.holder)
            except Exception:  # noqa: BLE001 - it expires on its own
                logger.warning("scheduler lease not released", exc_info=True)
