"""Shared pytest wiring: service markers that skip locally but fail in CI (REQUIRE_SERVICES)."""

import os
import socket

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")


def _service_missing(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _rabbitmq_reachable() -> bool:
    from django.conf import settings

    url = getattr(settings, "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    import pika

    params = pika.URLParameters(url)
    try:
        with socket.create_connection((params.host, params.port), timeout=2):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item):
    if item.get_closest_marker("mariadb"):
        from django.db import connection

        if connection.vendor != "mysql":
            _service_missing("needs DATABASE_URL pointing at MariaDB/MySQL")
    if item.get_closest_marker("rabbitmq") and not _rabbitmq_reachable():
        _service_missing("needs a reachable RabbitMQ (RABBITMQ_URL)")
