"""The base consumer every consuming daemon specialises (as Zulip's queue workers do): connect,
declare, consume with prefetch, hand batches to `handle_batch`, reject or park the deliveries it
turned down and ack the rest with one basic.ack, reconnect on loss, refresh the queue list,
heartbeat, stop gracefully."""

import abc
import copy
import logging
import time
from dataclasses import dataclass

import pika
from django.db import connection as database_connection
from pika.exceptions import AMQPError

from common.logcontext import message_context
from pubsub.broker import (
    CONNECTION_ERRORS,
    BrokerUnavailable,
    close_quietly,
    connect,
    declare_checked,
    plain_queue_declaration,
)
from pubsub.daemon import Daemon, database_outage

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    queue: str
    delivery_tag: int
    properties: pika.BasicProperties
    body: bytes
    redelivered: bool = False


@dataclass
class Outcome:
    """What to do with a delivery: ack it, reject it (to the DLQ, never requeued) with a reason,
    or park it: move it, with the reason in an `x-parked-reason` header, to a durable queue."""

    ack: bool
    reason: str = ""
    park_in: str = ""

    @classmethod
    def accepted(cls) -> "Outcome":
        return cls(True)

    @classmethod
    def rejected(cls, reason: str) -> "Outcome":
        return cls(False, reason)

    @classmethod
    def parked(cls, queue: str, reason: str) -> "Outcome":
        return cls(False, reason, queue)


class QueueConsumer(Daemon):
    prefetch = 100
    outcome_words = ("handled", "rejected")
    refresh_secs = 30.0

    def __init__(self, *, once: bool = False, url: str | None = None):
        super().__init__(once=once)
        self.url = url
        self.connection = None
        self.channel = None
        self._consuming: set[str] = set()
        self._buffer: list[Delivery] = []
        self._last_refresh = 0.0
        self._refused: set[str] = set()
        self._database_was_down = False

    # -- to specialise ---------------------------------------------------------------------
    @abc.abstractmethod
    def queue_names(self) -> list[str]:
        """The queues to consume, asked again every refresh_secs."""

    @abc.abstractmethod
    def declarations(self, queue: str) -> list[tuple[str, dict]]:
        """What to declare, as (channel method, arguments) in order, before consuming `queue`."""

    @abc.abstractmethod
    def handle_batch(self, deliveries: list[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order."""

    def failed_outcome(self, delivery: Delivery, reason: str) -> Outcome:
        """For a delivery the handler failed on; a consumer whose rejections are lost (one reading
        a dead-letter queue) parks it instead."""
        return Outcome.rejected(reason)

    # -- the loop --------------------------------------------------------------------------
    def step(self) -> int:
        self._wait_for_database()
        self._ensure_open()
        self._refresh_queues()
        if self.once:
            return self._drain_once()
        try:
            self.connection.process_data_events(time_limit=0.2)
            # top the batch up with what has already arrived, up to the prefetch: a bigger batch
            # is one transaction and one set of queries for more messages
            while 0 < len(self._buffer) < self.prefetch:
                before = len(self._buffer)
                self.connection.process_data_events(time_limit=0)
                if len(self._buffer) == before:
                    break
        except CONNECTION_ERRORS + (AMQPError,) as exc:
            self._drop_connection()
            raise BrokerUnavailable(f"connection lost while consuming: {exc!r}") from exc
        return self._flush()

    def idle(self, seconds: float) -> None:
        # process_data_events in step() already waited for deliveries
        return

    def _wait_for_database(self) -> None:
        """After a database outage, consume again only once the database answers: each time the
        deliveries in hand go back unacked, a quorum queue counts one more delivery of them
        towards RABBITMQ_DELIVERY_LIMIT."""
        if not self._database_was_down:
            return
        database_connection.ensure_connection()
        self._database_was_down = False

    def _ensure_open(self) -> None:
        if self.connection is not None and self.connection.is_open and self.channel and self.channel.is_open:
            return
        self._drop_connection()
        self.connection = connect(self.url)
        try:
            self.channel = self.connection.channel()
            self.channel.basic_qos(prefetch_count=self.prefetch)
            # a parked delivery is acked only once the broker confirmed its copy
            self.channel.confirm_delivery()
        except CONNECTION_ERRORS + (AMQPError,) as exc:
            self._drop_connection()
            raise BrokerUnavailable(f"cannot open a channel: {exc!r}") from exc
        self._last_refresh = 0.0
        params = self.connection._impl.params
        logger.info("%s connected to RabbitMQ node %s:%s", self.name, params.host, params.port)

    def _refresh_queues(self) -> None:
        now = time.monotonic()
        if (self._consuming or self._refused) and now - self._last_refresh < self.refresh_secs:
            return
        self._last_refresh = now
        for queue in self.queue_names():
            if queue in self._consuming:
                continue
            try:
                # each declaration on a channel of its own: one the broker refuses (the queue
                # exists with other arguments) must not close the channel the others consume on,
                # nor be retried in a loop; it is logged once and the queue waits for a fix
                if not declare_checked(self.connection, self.declarations(queue)):
                    self._refused.add(queue)
                    continue
                if not self.once:
                    self.channel.basic_consume(queue, self._on_message(queue))
            except CONNECTION_ERRORS + (AMQPError,) as exc:
                self._drop_connection()
                raise BrokerUnavailable(f"cannot consume {queue}: {exc!r}") from exc
            self._refused.discard(queue)
            self._consuming.add(queue)
            logger.info("%s consuming %s", self.name, queue)

    def _on_message(self, queue: str):
        def callback(channel, method, properties, body):
            self._buffer.append(Delivery(queue, method.delivery_tag, properties, body, method.redelivered))

        return callback

    def _drain_once(self) -> int:
        """--once: fetch with basic.get until every queue is empty."""
        for queue in sorted(self._consuming):
            while len(self._buffer) < self.prefetch:
                try:
                    method, properties, body = self.channel.basic_get(queue)
                except CONNECTION_ERRORS + (AMQPError,) as exc:
                    self._drop_connection()
                    raise BrokerUnavailable(f"connection lost while fetching: {exc!r}") from exc
                if method is None:
                    break
                self._buffer.append(Delivery(queue, method.delivery_tag, properties, body, method.redelivered))
        return self._flush()

    def _flush(self) -> int:
        if not self._buffer:
            return 0
        deliveries, self._buffer = self._buffer, []
        try:
            with message_context(delivery.properties.message_id for delivery in deliveries):
                outcomes = self._handle_safely(deliveries)
        except BaseException:
            # a database outage: the deliveries stay unacked and come back after reconnecting
            self._drop_connection()
            raise
        acked = []
        try:
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                if outcome.ack:
                    acked.append(delivery.delivery_tag)
                elif outcome.park_in:
                    self._park(delivery, outcome)
                    self.processed += 1
                else:
                    logger.warning(
                        "%s rejected message %s from %s to the dead-letter queue: %s",
                        self.name,
                        delivery.properties.message_id,
                        delivery.queue,
                        outcome.reason,
                    )
                    self.channel.basic_reject(delivery.delivery_tag, requeue=False)
                    self.failed += 1
            if acked:
                self._ack_up_to(max(acked), count=len(acked))
        except CONNECTION_ERRORS + (AMQPError,) as exc:
            # unacked deliveries are redelivered; the handlers are idempotent
            self._drop_connection()
            raise BrokerUnavailable(f"connection lost while acking: {exc!r}") from exc
        return len(deliveries)

    def _ack_up_to(self, tag: int, *, count: int) -> None:
        """Ack a batch with one basic.ack (each ack is a round of socket I/O in pika's blocking
        adapter). `multiple` settles every unsettled tag up to `tag`; on this channel those are
        exactly the batch's: the buffer fills in delivery order (consume and basic.get alike),
        every earlier batch was settled or the channel dropped with it, and the batch's rejects
        and parks went out first."""
        if count == 1:  # nothing else to settle
            self.channel.basic_ack(tag)
        else:
            self.channel.basic_ack(tag, multiple=True)
        self.processed += count

    def _park(self, delivery: Delivery, outcome: Outcome) -> None:
        """Copy the delivery (body and properties as they came) to its parking queue, then ack it.
        A loss in between leaves a second copy, never none."""
        logger.warning(
            "%s parked message %s from %s in %s: %s",
            self.name,
            delivery.properties.message_id,
            delivery.queue,
            outcome.park_in,
            outcome.reason,
        )
        if not declare_checked(self.connection, [plain_queue_declaration(outcome.park_in)]):
            # kept unacked: it comes back once the parking queue is fixed
            raise BrokerUnavailable(f"cannot park in {outcome.park_in}: the broker refused its declaration")
        properties = copy.copy(delivery.properties)
        headers = properties.headers if isinstance(properties.headers, dict) else {}
        properties.headers = {**headers, "x-parked-reason": outcome.reason[:255]}
        self.channel.basic_publish("", outcome.park_in, delivery.body, properties, mandatory=True)
        self.channel.basic_ack(delivery.delivery_tag)

    def _handle_safely(self, deliveries: list[Delivery]) -> list[Outcome]:
        """A handler bug must never crash-loop the daemon: retry one by one and reject only the
        deliveries that still fail. Database outages propagate (nothing is acked). The driver
        raises the same OperationalError for an outage and for a statement the server refuses (a
        value it cannot store): `database_outage` tells them apart by the error code."""
        try:
            return self.handle_batch(deliveries)
        except Exception as exc:
            if database_outage(exc):
                raise
            logger.exception("%s: batch of %d failed; handling one by one", self.name, len(deliveries))
        outcomes = []
        for delivery in deliveries:
            try:
                outcomes.extend(self.handle_batch([delivery]))
            except Exception as exc:  # noqa: BLE001 - parked with its reason, see above
                if database_outage(exc):
                    raise
                logger.exception("%s: message %s failed", self.name, delivery.properties.message_id)
                outcomes.append(self.failed_outcome(delivery, f"handler error: {exc!r}"[:500]))
        return outcomes

    def _drop_connection(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        self._consuming.clear()
        self._buffer.clear()
        close_quietly(connection)

    def on_connection_lost(self, what: str) -> None:
        if what == "database":
            self._database_was_down = True
        self._drop_connection()

    def shutdown(self) -> None:
        # deliveries not yet handled are requeued by the broker when the channel closes
        self._drop_connection()
