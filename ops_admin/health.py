"""Liveness and readiness for load balancers and orchestrators.

`/healthz` answers as long as the process serves requests. `/readyz` also asks the database (a
trivial query) and the broker (a short AMQP connection to each node of RABBITMQ_URL) and answers
503 naming what is down. A cluster with some nodes down still serves: that is 200 with status
"degraded", naming the nodes down; so are queue declarations a daemon reported refused.
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
from pubsub.queue_refusals import queue_refusals_current

logger = logging.getLogger(__name__)


def database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def node_name(params) -> str:
    return f"{params.host}:{params.port}"


def broker_ping(params, *, timeout: float) -> None:
    """Open and close one AMQP connection to one node, giving up after `timeout` seconds."""
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    pika.BlockingConnection(params).close()


def _state(check, name: str) -> str:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the service is not ready
        logger.warning("readiness: %s is down: %r", name, exc)
        return f"down ({type(exc).__name__})"
    return "ok"


def broker_nodes_states(*, timeout: float) -> dict[str, str]:
    """{"host:port": "ok" | "down (<error>)"} for each node of RABBITMQ_URL."""
    return {
        node_name(params): _state(lambda params=params: broker_ping(params, timeout=timeout), node_name(params))
        for params in connection_parameters()
    }


def queue_refusals_state() -> str:
    refusals = queue_refusals_current(heartbeat_secs=settings.WORKER_HEARTBEAT_SECS)
    if not refusals:
        return "ok"
    described = sorted({f"{r.queue} ({r.argument}: broker has {r.current}, declared {r.wanted})" for r in refusals})
    return f"degraded (declaration refused: {'; '.join(described)})"


def readiness_checks(*, timeout: float) -> dict[str, str]:
    """{"database": "ok" | "down (<error>)", "broker": ...}; with several broker nodes, also each
    node's state ("node <host:port>"); with refused queue declarations, "queues"."""
    results = {"database": _state(database_ping, "database")}
    nodes = broker_nodes_states(timeout=timeout)
    up = [node for node, state in nodes.items() if state == "ok"]
    if len(nodes) == 1:
        results["broker"] = next(iter(nodes.values()))
    elif len(up) == len(nodes):
        results["broker"] = "ok"
    elif up:
        results["broker"] = f"degraded ({len(nodes) - len(up)} of {len(nodes)} nodes down)"
    else:
        results["broker"] = f"down (all {len(nodes)} nodes)"
    if len(nodes) > 1:
        results |= {f"node {node}": state for node, state in nodes.items()}
    if results["database"] == "ok":
        queues = _state_value(queue_refusals_state, "queues")
        if queues != "ok":
            results["queues"] = queues
    return results


def _state_value(check, name: str) -> str:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a check that cannot run says so
        logger.warning("readiness: %s could not be checked: %r", name, exc)
        return f"degraded (not checked: {type(exc).__name__})"


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
    # a node of a cluster is not the broker: with others up, the broker is degraded, not down
    down = [name for name, state in checks.items() if state.startswith("down") and not name.startswith("node ")]
    degraded = [name for name, state in checks.items() if state != "ok" and name not in down]
    body = {"status": "unavailable" if down else "degraded" if degraded else "ok", "checks": checks, "down": down}
    if degraded:
        body["degraded"] = degraded
    return JsonResponse(body, status=503 if down else 200)
