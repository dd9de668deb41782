import time
import uuid

import pytest

from pubsub.broker import Publisher
from pubsub.conf import Route, user_sync_routes
from pubsub.models import QueuePublishHistory
from pubsub.outbox import queue_msg_to_publish


@pytest.fixture
def make_row():
    """A pending outbox row on the user-sync route (the `rabbit` route when that fixture is used)."""

    def _make_row(*, route=None, body=None, message_type="test.message", **fields):
        row = queue_msg_to_publish(
            route=route or user_sync_routes()[0],
            body={"n": 1} if body is None else body,
            message_type=message_type,
        )
        if fields:
            QueuePublishHistory.objects.filter(pk=row.pk).update(**fields)
            row.refresh_from_db()
        return row

    return _make_row


@pytest.fixture
def publisher():
    publishers = []

    def _publisher(url=None, *, window=None):
        publishers.append(Publisher(url, window=window))
        return publishers[-1]

    yield _publisher
    for each in publishers:
        each.close()


@pytest.fixture
def extra_route(rabbit):
    """Routes besides the `rabbit` one, with unique names, removed from the broker afterwards."""
    routes = []

    def _extra_route():
        suffix = uuid.uuid4().hex[:10]
        routes.append(Route.for_queue(f"test_q_{suffix}", f"test_x_{suffix}"))
        return routes[-1]

    yield _extra_route
    channel = rabbit.channel()
    for route in routes:
        for queue in (route.queue, route.deadletter_queue):
            channel.queue_delete(queue)
        for exchange in (route.exchange, route.deadletter_exchange):
            channel.exchange_delete(exchange)


@pytest.fixture
def wait_until():
    """Poll `predicate` until it holds (broker-side routing such as dead-lettering is asynchronous)."""

    def _wait_until(predicate, *, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not reached within {timeout}s"
            time.sleep(0.05)

    return _wait_until
