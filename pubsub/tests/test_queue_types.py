"""RABBITMQ_QUEUE_TYPE: how every queue is declared, and what a daemon does when the broker
refuses a declaration because the queue exists with another type."""

import logging
import uuid

import pika
import pytest

from pubsub.broker import queue_arguments
from pubsub.conf import Route
from pubsub.models import QueueDeclarationRefusal
from pubsub.queue_refusals import queue_refusal_parse, refused_queues
from users.sync_consumer import UserSyncConsumer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_refusals():
    refused_queues.clear()
    yield
    refused_queues.clear()


def test_classic_queues_carry_only_their_dead_letter_exchange(settings):
    settings.RABBITMQ_QUEUE_TYPE = "classic"

    assert queue_arguments(deadletter_exchange="dlx") == {"x-dead-letter-exchange": "dlx"}
    assert queue_arguments() == {}


def test_quorum_queues_that_dead_letter_count_deliveries_and_dead_letter_at_least_once(settings):
    settings.RABBITMQ_QUEUE_TYPE = "quorum"
    settings.RABBITMQ_DELIVERY_LIMIT = 7

    assert queue_arguments(deadletter_exchange="dlx") == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 7,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-dead-letter-exchange": "dlx",
    }


def test_quorum_queues_without_a_dead_letter_exchange_get_no_delivery_limit(settings):
    settings.RABBITMQ_QUEUE_TYPE = "quorum"

    assert queue_arguments() == {"x-queue-type": "quorum"}


def test_the_refusal_text_gives_the_queue_the_argument_and_both_values():
    text = (
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'drf_queue' in vhost '/': "
        "received the value 'quorum' of type 'longstr' but current is the value 'classic' of type 'longstr'"
    )

    refusal = queue_refusal_parse(queue="other", reply_text=text)

    assert (refusal.queue, refusal.argument, refusal.wanted, refusal.current) == (
        "drf_queue",
        "x-queue-type",
        "'quorum'",
        "'classic'",
    )


def test_an_unknown_refusal_text_is_kept_whole():
    refusal = queue_refusal_parse(queue="q", reply_text="PRECONDITION_FAILED - something new")

    assert (refusal.queue, refusal.argument) == ("q", "")
    assert "something new" in refusal.describe()


@pytest.mark.rabbitmq
def test_the_consumer_declares_quorum_queues(settings, rabbit):
    settings.RABBITMQ_QUEUE_TYPE = "quorum"

    UserSyncConsumer(once=True).run()

    # the broker takes the quorum declaration again and refuses a classic one
    quorum = queue_arguments(deadletter_exchange=rabbit.route.deadletter_exchange)
    rabbit.channel().queue_declare(rabbit.route.queue, durable=True, arguments=quorum)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        rabbit.channel().queue_declare(
            rabbit.route.queue, durable=True, arguments={"x-dead-letter-exchange": rabbit.route.deadletter_exchange}
        )
    assert refused.value.reply_code == 406


@pytest.fixture
def classic_queue(settings, rabbit):
    """The test route's queues, declared classic (a deployment from before quorum queues)."""
    settings.RABBITMQ_QUEUE_TYPE = "classic"
    rabbit.declare()
    settings.RABBITMQ_QUEUE_TYPE = "quorum"
    return rabbit.route


@pytest.mark.rabbitmq
def test_a_refused_declaration_is_logged_once_and_the_consumer_goes_on(classic_queue, caplog):
    consumer = UserSyncConsumer()
    consumer.refresh_secs = 0  # look at the queues again on every step

    with caplog.at_level(logging.ERROR, logger="pubsub.queue_refusals"):
        for _ in range(3):
            consumer.step()

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert classic_queue.deadletter_queue in errors[0] or classic_queue.queue in errors[0]
    assert "x-queue-type" in errors[0]
    assert consumer.connection.is_open
    consumer.shutdown()


@pytest.mark.rabbitmq
def test_a_refused_declaration_does_not_stop_the_other_queues(settings, classic_queue, rabbit):
    healthy = Route.for_queue(f"test_q_{uuid.uuid4().hex[:10]}", classic_queue.exchange)
    settings.USER_SYNC_CONSUME_QUEUES = [classic_queue.queue, healthy.queue]
    consumer = UserSyncConsumer()

    consumer.step()

    assert consumer._consuming == {healthy.queue}
    consumer.shutdown()
    channel = rabbit.channel()
    channel.queue_delete(healthy.queue)


@pytest.mark.rabbitmq
def test_the_heartbeat_writes_the_refusal_and_readyz_reports_it(classic_queue, client, settings):
    settings.READINESS_CACHE_SECS = 0
    consumer = UserSyncConsumer()
    consumer.step()

    consumer.beat("running", force=True)

    refusal = QueueDeclarationRefusal.objects.get(worker_id=consumer.worker_id)
    assert (refusal.argument, refusal.current) == ("x-queue-type", "none")
    body = client.get("/readyz").json()
    assert body["status"] == "degraded"
    assert "queues" in body["degraded"]
    assert refusal.queue in body["checks"]["queues"]
    consumer.shutdown()


@pytest.mark.rabbitmq
def test_the_refusal_is_withdrawn_once_the_declaration_succeeds(classic_queue, settings):
    consumer = UserSyncConsumer()
    consumer.refresh_secs = 0
    consumer.step()
    consumer.beat("running", force=True)

    settings.RABBITMQ_QUEUE_TYPE = "classic"
    consumer.step()
    consumer.beat("running", force=True)

    assert not QueueDeclarationRefusal.objects.filter(worker_id=consumer.worker_id).exists()
    consumer.shutdown()
