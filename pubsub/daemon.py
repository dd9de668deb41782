"""The one loop every daemon shares: heartbeat, graceful stop, and backoff-and-resume when the
broker or the database goes away. Which daemons exist, and where each logs, is common.daemons."""

import abc
import logging
import os
import random
import signal
import socket
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from pubsub.broker import BrokerUnavailable
from pubsub.heartbeat import heartbeat_beat
from pubsub.queue_refusals import queue_refusals_record, refused_queues

logger = logging.getLogger(__name__)

DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)
# MySQL/MariaDB OperationalErrors that say the database is (for now) out of reach, not that it
# refused this statement: too many connections, shutdown, lock wait timeout, deadlock, network
# errors, query interrupted, read-only during a failover, killed connection, inactivity timeout;
# 2000 and up are the client library's own (cannot connect, server gone, lost connection)
MYSQL_TRANSIENT_CODES = frozenset({1040, 1053, 1158, 1159, 1160, 1161, 1205, 1213, 1290, 1317, 1836, 1927, 4031})


def database_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database is unreachable or busy (back off, retry the same work)
    rather than that it refused what was asked (a poison input: handle it as a failure).
    An OperationalError without a MySQL error code (SQLite, a driver message) counts as an outage."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code is None or code >= 2000 or code in MYSQL_TRANSIENT_CODES


class Daemon(abc.ABC):
    """Subclasses implement `step()` (one unit of work; returns how much it did) and may override
    `on_connection_lost()` and `shutdown()`. `run()` loops until stopped, or one pass with once."""

    # its name in common.daemons: heartbeat rows and log lines say it
    name = "daemon"
    idle_secs = 0.1
    # how its command reports `processed` and `failed` when it exits
    outcome_words = ("processed", "failed")

    def __init__(self, *, once: bool = False):
        self.once = once
        self.stop_event = threading.Event()
        self.worker_id = f"{self.name}@{socket.gethostname()}:{os.getpid()}"
        self.processed = 0
        self.failed = 0
        self._last_beat = 0.0
        self._failures_in_a_row = 0
        self._refusals_written = False

    # -- lifecycle -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        logger.info("%s: received %s, stopping after the current batch", self.name, signal.Signals(signum).name)
        self.stop_event.set()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        logger.info("%s starting as %s%s", self.name, self.worker_id, " (once)" if self.once else "")
        self.beat("running", force=True)
        try:
            while not self.stop_event.is_set():
                try:
                    done = self.step()
                    self._failures_in_a_row = 0
                except BrokerUnavailable as exc:
                    self._outage("broker", exc)
                    if self.once:
                        raise
                    continue
                except DATABASE_DOWN_ERRORS as exc:
                    self._outage("database", exc)
                    if self.once:
                        raise
                    continue
                self.beat("running")
                if self.once and not done:
                    break
                if not done:
                    self.idle(self.idle_secs)
        finally:
            self.shutdown()
            self.beat("stopped", force=True)
            logger.info("%s stopped: %d processed, %d failed", self.name, self.processed, self.failed)

    def _outage(self, what: str, exc: Exception) -> None:
        self._failures_in_a_row += 1
        delay = min(30.0, 0.5 * 2 ** min(self._failures_in_a_row - 1, 6)) * (0.5 + random.random() / 2)
        logger.warning("%s: %s unavailable (%s); retrying in %.1fs", self.name, what, exc, delay)
        self.on_connection_lost(what)
        if what == "database":
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()
                conn.close()
        if not self.once:
            self.stop_event.wait(delay)

    def idle(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    # -- heartbeat -------------------------------------------------------------------------
    def beat(self, state: str, *, force: bool = False, detail: str = "") -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < settings.WORKER_HEARTBEAT_SECS:
            return
        try:
            self._close_old_connections()
            heartbeat_beat(
                name=self.name,
                worker_id=self.worker_id,
                state=state,
                processed=self.processed,
                failed=self.failed,
                detail=detail,
            )
            self._record_refusals()
            self._last_beat = now
        except DatabaseError as exc:
            logger.warning("%s: heartbeat not written (%s)", self.name, exc)

    def _record_refusals(self) -> None:
        refusals = refused_queues.all()
        if refusals or self._refusals_written:
            queue_refusals_record(worker_id=self.worker_id)
            self._refusals_written = bool(refusals)

    @staticmethod
    def _close_old_connections() -> None:
        # drop only a broken connection: a daemon keeps its one connection for its lifetime
        # (CONN_MAX_AGE is for request threads), and a --once run inside a caller's transaction
        # (an admin button, a test) must not have its connection closed under it
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block and conn.connection is not None and conn.errors_occurred:
                if not conn.is_usable():
                    conn.close()
                else:
                    conn.errors_occurred = False

    # -- hooks -----------------------------------------------------------------------------
    @abc.abstractmethod
    def step(self) -> int:
        """One unit of work; how much it did (0: nothing to do, idle before the next)."""

    def on_connection_lost(self, what: str) -> None:  # noqa: B027 - an optional hook, doing nothing by default
        """After the broker or the database ("broker"/"database") went away: drop what depended on it."""

    def shutdown(self) -> None:  # noqa: B027 - an optional hook, doing nothing by default
        """Once, when run() ends: close connections, stop threads."""
