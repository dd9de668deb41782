"""Liveness and readiness for load balancers and orchestrators.

`/healthz` answers as long as the process serves requests. `/readyz` also asks the database (a
trivial query) and the broker (a short AMQP connection) and answers 503 naming what is down.
Its result is reused for READINESS_CACHE_SECS by every probe of the process, so a flood of probes
(or one careless monitor) opens one broker connection per window, not one per request.
"""

import logging
import threading
import time

import pika
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from pubsub.broker import connection_parameters

logger = logging.getLogger(__name__)


def database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def broker_ping(*, timeout: float) -> None:
    """Open and close one AMQP connection, giving up after `timeout` seconds."""
    params = connection_parameters()
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    pika.BlockingConnection(params).close()


def readiness_checks(*, timeout: float) -> dict[str, str]:
    """{"database": "ok" | "down (<error>)", "broker": ...}."""
    results = {}
    for name, check in (("database", database_ping), ("broker", lambda: broker_ping(timeout=timeout))):
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - whatever the failure, the service is not ready
            logger.warning("readiness: %s is down: %r", name, exc)
            results[name] = f"down ({type(exc).__name__})"
        else:
            results[name] = "ok"
    return results


class ReadinessCache:
    """The last readiness result of this process and when it was taken. One lock: probes that
    arrive while a check runs wait for its result instead of opening connections of their own."""

    def __init__(self):
        self._lock = threading.Lock()
        self._taken_at: float | None = None
        self._checks: dict[str, str] = {}

    def get(self, *, max_age: float, compute) -> dict[str, str]:
        with self._lock:
            if self._taken_at is None or time.monotonic() - self._taken_at >= max_age:
                self._checks = compute()
                self._taken_at = time.monotonic()
            return self._checks

    def clear(self) -> None:
        with self._lock:
            self._taken_at, self._checks = None, {}


readiness_cache = ReadinessCache()


def readiness_checks_cached(*, timeout: float, max_age: float) -> dict[str, str]:
    """readiness_checks(), taken at most once per `max_age` seconds in this process (0: each call)."""
    if max_age <= 0:
        return readiness_checks(timeout=timeout)
    return readiness_cache.get(max_age=max_age, compute=lambda: readiness_checks(timeout=timeout))


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    checks = readiness_checks_cached(timeout=settings.READINESS_TIMEOUT_SECS, max_age=settings.READINESS_CACHE_SECS)
    down = [name for name, state in checks.items() if state != "ok"]
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "checks": checks, "down": down},
        status=503 if down else 200,
    )
