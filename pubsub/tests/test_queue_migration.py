"""`manage.py queues_migrate`: an existing deployment's queues moved between classic and quorum
without losing a message, and finished by running it again after an interruption."""

import io
import uuid
from collections import Counter

import pika
import pytest
from django.core.management import CommandError, call_command

from pubsub import queue_migration
from pubsub.broker import queue_arguments
from pubsub.queue_migration import TEMPORARY_SUFFIX, deployment_queues, queues_migrate
from tests.support.queues import drain_message_ids

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]

MESSAGES = 30
DEAD_LETTERS = 4


def publish(channel, exchange: str, routing_key: str, count: int) -> set[str]:
    ids = {str(uuid.uuid4()) for _ in range(count)}
    for message_id in ids:
        properties = pika.BasicProperties(message_id=message_id, delivery_mode=2, content_type="application/json")
        channel.basic_publish(exchange, routing_key, b'{"n": 1}', properties, mandatory=True)
    return ids


def declared_as(rabbit, queue: str, arguments: dict) -> bool:
    try:
        rabbit.channel().queue_declare(queue, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker:
        return False
    return True


def exists(rabbit, queue: str) -> bool:
    try:
        rabbit.channel().queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker:
        return False
    return True


@pytest.fixture
def classic_deployment(rabbit, settings):
    """The test route declared classic, with messages waiting in its queue and its dead-letter
    queue; then the deployment switched to quorum queues."""
    settings.RABBITMQ_QUEUE_TYPE = "classic"
    rabbit.declare()
    channel = rabbit.channel()
    channel.confirm_delivery()
    route = rabbit.route
    rabbit.sent = publish(channel, route.exchange, route.queue, MESSAGES)
    rabbit.dead = publish(channel, route.deadletter_exchange, route.queue, DEAD_LETTERS)
    settings.RABBITMQ_QUEUE_TYPE = "quorum"
    yield rabbit
    for spec in deployment_queues():
        for queue in (spec.name, spec.temporary):
            rabbit.channel().queue_delete(queue)


def sync_queue_arguments(rabbit) -> dict:
    return queue_arguments(deadletter_exchange=rabbit.route.deadletter_exchange)


def test_the_deployments_queues_are_its_routes_dead_letter_and_parked_queues(classic_deployment):
    route = classic_deployment.route

    assert [spec.name for spec in deployment_queues()] == [
        route.queue,
        route.deadletter_queue,
        f"{route.deadletter_queue}.unmatched",
    ]


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(classic_deployment):
    route = classic_deployment.route

    migrations = queues_migrate(dry_run=True)

    assert [(m.queue, m.state, m.messages) for m in migrations] == [
        (route.queue, "to migrate", MESSAGES),
        (route.deadletter_queue, "to migrate", DEAD_LETTERS),
        (f"{route.deadletter_queue}.unmatched", "absent", 0),
    ]
    assert "x-" in migrations[0].detail
    assert classic_deployment.message_count(route.queue) == MESSAGES
    assert not exists(classic_deployment, route.queue + TEMPORARY_SUFFIX)
    assert not declared_as(classic_deployment, route.queue, sync_queue_arguments(classic_deployment))


def test_classic_queues_become_quorum_queues_with_every_message(classic_deployment):
    rabbit, route = classic_deployment, classic_deployment.route

    migrations = queues_migrate()

    assert [m.state for m in migrations] == ["migrated", "migrated", "absent"]
    assert declared_as(rabbit, route.queue, sync_queue_arguments(rabbit))
    assert declared_as(rabbit, route.deadletter_queue, queue_arguments())
    assert not exists(rabbit, route.queue + TEMPORARY_SUFFIX)
    assert drain_message_ids(rabbit.url, route.queue) == Counter(dict.fromkeys(rabbit.sent, 1))
    assert drain_message_ids(rabbit.url, route.deadletter_queue) == Counter(dict.fromkeys(rabbit.dead, 1))


def test_the_migrated_queues_keep_their_bindings(classic_deployment):
    rabbit, route = classic_deployment, classic_deployment.route
    queues_migrate()
    channel = rabbit.channel()
    channel.confirm_delivery()

    publish(channel, route.exchange, route.queue, 1)
    publish(channel, route.deadletter_exchange, route.queue, 1)

    assert rabbit.message_count(route.queue) == MESSAGES + 1
    assert rabbit.message_count(route.deadletter_queue) == DEAD_LETTERS + 1


def test_an_interrupted_migration_is_finished_by_running_it_again(classic_deployment, monkeypatch):
    rabbit, route = classic_deployment, classic_deployment.route
    acks = []
    ack = queue_migration._ack

    def ack_then_crash(channel, delivery_tag):
        # the worst moment: the copy is confirmed, the original not yet acked
        if len(acks) == 10:
            raise RuntimeError("the migration process died")
        acks.append(delivery_tag)
        ack(channel, delivery_tag)

    monkeypatch.setattr(queue_migration, "_ack", ack_then_crash)
    with pytest.raises(RuntimeError):
        queues_migrate()
    monkeypatch.setattr(queue_migration, "_ack", ack)
    assert exists(rabbit, route.queue + TEMPORARY_SUFFIX)

    again = queues_migrate()

    assert [m.state for m in again] == ["migrated", "migrated", "absent"]
    assert not exists(rabbit, route.queue + TEMPORARY_SUFFIX)
    assert declared_as(rabbit, route.queue, sync_queue_arguments(rabbit))
    seen = drain_message_ids(rabbit.url, route.queue)
    assert set(seen) == rabbit.sent, "every message is still there"
    assert seen.total() - len(seen) <= 1, "at most the message in flight at the crash twice"


def test_a_migration_stopped_after_deleting_the_queue_is_finished(classic_deployment, monkeypatch):
    rabbit, route = classic_deployment, classic_deployment.route

    declare = queue_migration._declare

    def declare_then_crash(connection, queue, arguments):
        if not queue.endswith(TEMPORARY_SUFFIX):
            raise RuntimeError("died before declaring the queue again")
        declare(connection, queue, arguments)

    monkeypatch.setattr(queue_migration, "_declare", declare_then_crash)
    with pytest.raises(RuntimeError):
        queues_migrate()
    monkeypatch.setattr(queue_migration, "_declare", declare)
    assert not exists(rabbit, route.queue)

    assert queues_migrate(dry_run=True)[0].state == "to finish"
    queues_migrate()

    assert drain_message_ids(rabbit.url, route.queue) == Counter(dict.fromkeys(rabbit.sent, 1))


def test_quorum_queues_go_back_to_classic(classic_deployment, settings):
    rabbit, route = classic_deployment, classic_deployment.route
    queues_migrate()
    settings.RABBITMQ_QUEUE_TYPE = "classic"

    assert [m.state for m in queues_migrate()] == ["migrated", "migrated", "absent"]

    assert declared_as(rabbit, route.queue, {"x-dead-letter-exchange": route.deadletter_exchange})
    assert drain_message_ids(rabbit.url, route.queue) == Counter(dict.fromkeys(rabbit.sent, 1))


def test_queues_already_of_the_type_are_left_as_they_are(classic_deployment):
    queues_migrate()

    assert [m.state for m in queues_migrate()] == ["up to date", "up to date", "absent"]


def test_a_queue_with_a_consumer_is_left_alone(classic_deployment):
    rabbit, route = classic_deployment, classic_deployment.route
    consumer = rabbit.channel()
    consumer.basic_consume(route.queue, lambda *args: None)

    with pytest.raises(CommandError, match=route.queue):
        call_command("queues_migrate", stdout=io.StringIO())

    consumer.close()  # what it held unacked goes back to the queue
    assert rabbit.message_count(route.queue) == MESSAGES
    assert not declared_as(rabbit, route.queue, sync_queue_arguments(rabbit))


def test_the_command_prints_the_plan_of_a_dry_run(classic_deployment):
    out = io.StringIO()

    call_command("queues_migrate", "--dry-run", stdout=out)

    assert "target: quorum queues (dry run)" in out.getvalue()
    assert f"{classic_deployment.route.queue}: to migrate" in out.getvalue()
    assert f"move the messages of {classic_deployment.route.queue}" in out.getvalue()
