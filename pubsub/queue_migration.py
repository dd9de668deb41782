"""Moving a deployment's queues to RABBITMQ_QUEUE_TYPE (classic to quorum, or back).

A queue's type cannot change in place, so each queue that differs is rebuilt under its own name:

1. declare `<queue>.migrating` with the new type, bind it as the queue is bound, unbind the queue
   (new messages now wait in the temporary queue);
2. move every message of the queue there: fetch, publish with a publisher confirm, ack the source
   only once the broker confirmed the copy;
3. delete the (now empty) queue, declare it again with the new type and its bindings, unbind the
   temporary queue, move its messages back the same way, delete it.

Every step is idempotent and the state is in the broker, so a run stopped anywhere (a crash, a
lost connection) is finished by running it again: a queue that has its new type while
`<queue>.migrating` still exists is at step 3. A crash between a confirm and its ack leaves one
message in both queues: delivered twice, which the consumers' inbox (and the dead-letter
consumer's idempotent update) absorb; never none. The temporary queue has no dead-letter
exchange and no limit: nothing leaves it but the move. Messages keep their properties (their
TTL starts again). Queues with consumers are left alone: stop the daemons first.
"""

import logging
from dataclasses import dataclass, field

import pika
from django.conf import settings
from django.db.models import Q

from pubsub.broker import close_quietly, connect, queue_arguments
from pubsub.conf import Route, user_sync_routes
from pubsub.deadletter import unmatched_queue
from pubsub.models import QueuePublishHistory
from pubsub.queue_refusals import queue_refusal_parse

logger = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".migrating"


@dataclass(frozen=True)
class QueueSpec:
    """A queue of this deployment: its name, its arguments for RABBITMQ_QUEUE_TYPE, and the
    (exchange, routing key) bindings it has."""

    name: str
    arguments: dict
    bindings: tuple[tuple[str, str], ...] = ()

    @property
    def temporary(self) -> str:
        return f"{self.name}{TEMPORARY_SUFFIX}"


@dataclass
class QueueMigration:
    queue: str
    state: str  # "absent", "up to date", "to migrate", "to finish", "refused", "migrated"
    detail: str = ""
    messages: int = 0
    moved: int = 0
    steps: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"{self.queue}: {self.state}"
        if self.detail:
            text += f" ({self.detail})"
        if self.messages:
            text += f", {self.messages} message(s)"
        if self.moved:
            text += f", {self.moved} moved"
        return text + "".join(f"\n    - {step}" for step in self.steps)


class QueueMigrationRefused(Exception):
    pass


def deployment_queues() -> list[QueueSpec]:
    """Every queue this deployment declares: its routes' queues (settings and outbox), their
    dead-letter queues, and the parked `.unmatched` queues of those."""
    routes = set(user_sync_routes())
    routes.update(Route.for_queue(queue, settings.USER_SYNC_EXCHANGE) for queue in settings.USER_SYNC_CONSUME_QUEUES)
    routes.update(
        Route(*values)
        for values in QueuePublishHistory.objects.order_by()
        .exclude(Q(queue_name="") | Q(exchange_name=""))
        .values_list("queue_name", "exchange_name", "deadletter_queue_name", "deadletter_exchange_name")
        .distinct()
    )
    specs: dict[str, QueueSpec] = {}
    for route in sorted(routes, key=lambda r: r.queue):
        specs[route.queue] = QueueSpec(
            route.queue,
            queue_arguments(deadletter_exchange=route.deadletter_exchange),
            ((route.exchange, route.queue),),
        )
        if route.deadletter_queue:
            specs[route.deadletter_queue] = QueueSpec(
                route.deadletter_queue, queue_arguments(), ((route.deadletter_exchange, route.queue),)
            )
            parked = unmatched_queue(route.deadletter_queue)
            specs[parked] = QueueSpec(parked, queue_arguments())
    return list(specs.values())


def queues_migrate(*, dry_run: bool = False, url: str | None = None, specs: list[QueueSpec] | None = None):
    """Bring each of the deployment's queues (or `specs`) to RABBITMQ_QUEUE_TYPE; returns one
    QueueMigration per queue, saying what was (or, with dry_run, would be) done."""
    connection = connect(url)
    try:
        return [_migrate(connection, spec, dry_run=dry_run) for spec in specs or deployment_queues()]
    finally:
        close_quietly(connection)


# -- looking -------------------------------------------------------------------------------
def _passive(connection, queue: str):
    """The queue's declare-ok (message and consumer counts), or None if it does not exist."""
    channel = connection.channel()
    try:
        return channel.queue_declare(queue, passive=True).method
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    finally:
        close_quietly(channel)


def _differs(connection, spec: QueueSpec) -> str:
    """ "" if the existing queue takes `spec`'s declaration as it is, else why not."""
    channel = connection.channel()
    try:
        channel.queue_declare(spec.name, durable=True, arguments=spec.arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != 406:
            raise
        return queue_refusal_parse(queue=spec.name, reply_text=exc.reply_text).describe()
    close_quietly(channel)
    return ""


# -- migrating -----------------------------------------------------------------------------
def _migrate(connection, spec: QueueSpec, *, dry_run: bool) -> QueueMigration:
    current = _passive(connection, spec.name)
    temporary = _passive(connection, spec.temporary)
    if current is None and temporary is None:
        return QueueMigration(spec.name, "absent", "declared with the new type when a daemon first uses it")
    if current is not None and current.consumer_count:
        return QueueMigration(
            spec.name, "refused", f"{current.consumer_count} consumer(s) attached: stop the daemons that consume it"
        )
    why = _differs(connection, spec) if current is not None else "deleted by an interrupted migration"
    if not why and temporary is None:
        return QueueMigration(spec.name, "up to date")
    migration = QueueMigration(
        spec.name,
        "to migrate" if why and current is not None else "to finish",
        why or f"an interrupted migration left {spec.temporary}",
        messages=(current.message_count if current is not None and why else 0)
        + (temporary.message_count if temporary else 0),
    )
    if current is not None and why:
        migration.steps += [
            f"declare {spec.temporary} and bind it in place of {spec.name}",
            f"move the messages of {spec.name} to {spec.temporary} (each acked once confirmed)",
            f"delete {spec.name}",
        ]
    migration.steps += [
        f"declare {spec.name} {_describe(spec.arguments)} with its bindings, unbind {spec.temporary}",
        f"move the messages of {spec.temporary} back, delete {spec.temporary}",
    ]
    if dry_run:
        return migration
    if current is not None and why:
        _declare(connection, spec.temporary, {"x-queue-type": spec.arguments.get("x-queue-type", "classic")})
        _rebind(connection, spec.bindings, bind=spec.temporary, unbind=spec.name)
        migration.moved += _move(connection, spec.name, spec.temporary)
        _delete_empty(connection, spec.name)
    _declare(connection, spec.name, spec.arguments)
    _rebind(connection, spec.bindings, bind=spec.name, unbind=spec.temporary)
    migration.moved += _move(connection, spec.temporary, spec.name)
    _delete_empty(connection, spec.temporary)
    migration.state = "migrated"
    logger.info("queue %s migrated to %s: %d message(s) moved", spec.name, _describe(spec.arguments), migration.moved)
    return migration


def _describe(arguments: dict) -> str:
    return f"as a {arguments.get('x-queue-type', 'classic')} queue"


def _declare(connection, queue: str, arguments: dict) -> None:
    channel = connection.channel()
    try:
        channel.queue_declare(queue, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise QueueMigrationRefused(f"cannot declare {queue}: {exc.reply_text}") from exc
    close_quietly(channel)


def _rebind(connection, bindings, *, bind: str, unbind: str) -> None:
    """Bind `bind` before unbinding `unbind`: a message published in between goes to both (a
    duplicate the consumers absorb), never to neither."""
    channel = connection.channel()
    try:
        for exchange, routing_key in bindings:
            channel.queue_bind(bind, exchange, routing_key=routing_key)
        if _passive(connection, unbind) is not None:
            for exchange, routing_key in bindings:
                channel.queue_unbind(unbind, exchange, routing_key=routing_key)
    finally:
        close_quietly(channel)


def _move(connection, source: str, target: str) -> int:
    """Move every message of `source` to `target`: each published with a confirm, then acked."""
    if _passive(connection, source) is None:
        return 0
    channel = connection.channel()
    channel.confirm_delivery()
    moved = 0
    try:
        while True:
            method, properties, body = channel.basic_get(source)
            if method is None:
                return moved
            # blocks until the broker confirms; raises (leaving the message unacked) if it refuses
            channel.basic_publish("", target, body, properties, mandatory=True)
            _ack(channel, method.delivery_tag)
            moved += 1
    finally:
        close_quietly(channel)


def _ack(channel, delivery_tag: int) -> None:
    channel.basic_ack(delivery_tag)


def _delete_empty(connection, queue: str) -> None:
    """Delete `queue` once it is empty. (Quorum queues refuse queue.delete's if-empty, and the
    refusal closes the connection: the count is checked first. Nothing routes to the queue by
    then; only a publisher naming it, a deadletter_consumer parking, could add a message in
    between, which is why the daemons are stopped first.)"""
    declared = _passive(connection, queue)
    if declared is None:
        return
    if declared.message_count:
        raise QueueMigrationRefused(f"{queue} still has {declared.message_count} message(s) after the move: run again")
    channel = connection.channel()
    try:
        channel.queue_delete(queue)
    finally:
        close_quietly(channel)
