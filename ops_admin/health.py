"""Liveness and readiness for load balancers and orchestrators.

`/healthz` answers as long as the process serves requests. `/readyz` also asks the database (a
trivial query) and the broker (a short AMQP connection) and answers 503 naming what is down.
"""

import logging

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


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    checks = readiness_checks(timeout=settings.READINESS_TIMEOUT_SECS)
    down = [name for name, state in checks.items() if state != "ok"]
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "checks": checks, "down": down},
        status=503 if down else 200,
    )
