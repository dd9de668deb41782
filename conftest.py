"""Shared pytest wiring: service markers that skip locally but fail in CI (REQUIRE_SERVICES)."""

import socket

import pytest

from tests.support.services import service_missing as _service_missing


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


def pytest_collection_modifyitems(config, items):
    # tests marked serial run one after another on one pytest-xdist worker (make test's
    # --dist loadgroup), never two at once; the other workers go on with the rest of the suite
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


def pytest_runtest_setup(item):
    if item.get_closest_marker("mariadb"):
        from django.db import connection

        if connection.vendor != "mysql":
            _service_missing("needs DATABASE_URL pointing at MariaDB/MySQL")
    if item.get_closest_marker("rabbitmq") and not _rabbitmq_reachable():
        _service_missing("needs a reachable RabbitMQ (RABBITMQ_URL)")


class RabbitTestBroker:
    """Unique exchange/queue names for one test, configured as the user-sync route, and
    removed afterwards; plus small helpers to look inside the queues."""

    def __init__(self, settings):
        import uuid

        from pubsub.conf import Route

        suffix = uuid.uuid4().hex[:10]
        self.route = Route.for_queue(f"test_q_{suffix}", f"test_x_{suffix}")
        settings.USER_SYNC_EXCHANGE = self.route.exchange
        settings.USER_SYNC_QUEUES = [self.route.queue]
        settings.USER_SYNC_CONSUME_QUEUES = [self.route.queue]
        self.url = settings.RABBITMQ_URL
        self._connection = None

    def channel(self):
        import pika

        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return self._connection.channel()

    def declare(self, route=None):
        from pubsub.broker import declare_route

        declare_route(self.channel(), route or self.route)

    def message_count(self, queue: str) -> int:
        return self.channel().queue_declare(queue, passive=True).method.message_count

    def get_all(self, queue: str) -> list:
        """Fetch and ack every message of `queue`: [(properties, body), ...]."""
        channel, messages = self.channel(), []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((properties, body))

    def cleanup(self):
        channel = self.channel()
        for queue in (self.route.queue, self.route.deadletter_queue):
            channel.queue_delete(queue)
        for exchange in (self.route.exchange, self.route.deadletter_exchange):
            channel.exchange_delete(exchange)
        self._connection.close()


@pytest.fixture
def rabbit(settings, request):
    """A real RabbitMQ with per-test queue names (marks the test as needing RabbitMQ)."""
    request.applymarker(pytest.mark.rabbitmq)
    if not _rabbitmq_reachable():
        _service_missing("needs a reachable RabbitMQ (RABBITMQ_URL)")
    broker = RabbitTestBroker(settings)
    yield broker
    broker.cleanup()
