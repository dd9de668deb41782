"""A message that keeps coming back (each consumer that takes it dies before acking: the crash a
poison message causes) is dead-lettered by the quorum queue once past RABBITMQ_DELIVERY_LIMIT,
and deadletter_consumer marks its outbox row expired with the broker's reason, delivery_limit."""

import pytest

from pubsub.broker import connect
from pubsub.models import QueuePublishHistory
from pubsub.outbox import queue_msg_to_publish
from tests.support.daemons import run_command, wait_until

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.cluster,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
]

DELIVERY_LIMIT = 2


def message_count(queue: str) -> int:
    connection = connect()
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def take_and_die(queue: str) -> bool:
    """Take one message and drop the connection without acking it; False if the queue was empty."""
    connection = connect()
    try:
        method, _properties, _body = connection.channel().basic_get(queue)
        return method is not None
    finally:
        connection.close()


def test_a_message_redelivered_past_the_delivery_limit_ends_expired_with_reason_delivery_limit(
    cluster, cluster_route, deployment_a, settings, figures
):
    settings.RABBITMQ_DELIVERY_LIMIT = DELIVERY_LIMIT
    env = deployment_a.env(RABBITMQ_DELIVERY_LIMIT=DELIVERY_LIMIT)
    row = queue_msg_to_publish(route=cluster_route, body={"type": "user.created", "poison": True}, message_type="t")
    run_command("producer_service", "--once", env=env)
    row.refresh_from_db()
    assert row.status == QueuePublishHistory.Status.PUBLISHED

    deliveries = 0
    while take_and_die(cluster_route.queue):
        deliveries += 1
        assert deliveries <= DELIVERY_LIMIT + 1, "the queue keeps delivering past its limit"
    wait_until(
        lambda: message_count(cluster_route.deadletter_queue) == 1,
        timeout=30,
        message="the message in the dead-letter queue",
    )
    run_command("deadletter_consumer", "--once", env=env)

    row.refresh_from_db()
    assert (row.status, row.expired_reason) == (QueuePublishHistory.Status.EXPIRED, "delivery_limit")
    assert row.next_attempt_at is None, "a message past its delivery limit is not republished automatically"
    figures("deliveries before the message was dead-lettered", deliveries)
