"""RabbitMQ access with pika: connection parameters, topology and the batch publisher."""

import json
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import pika
from django.conf import settings
from pika.exceptions import AMQPConnectionError

from pubsub.conf import Route, broker_urls
from pubsub.queue_refusals import queue_declaration_accepted, queue_declaration_refused

logger = logging.getLogger(__name__)

# errors after which the connection is gone and must be rebuilt
CONNECTION_ERRORS = (AMQPConnectionError, pika.exceptions.StreamLostError, pika.exceptions.ConnectionClosed, OSError)


class BrokerUnavailable(Exception):
    """The broker connection failed or was lost; nothing about the messages themselves."""


def node_parameters(url: str) -> pika.URLParameters:
    """The connection parameters of one broker node."""
    params = pika.URLParameters(url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": f"ops-console:{settings.DEPLOYMENT_NAME}"}
    return params


def connection_parameters(url: str | None = None) -> list[pika.URLParameters]:
    """One set of parameters per node of `url` (default RABBITMQ_URL: one or several
    comma-separated amqp:// URLs of one cluster), in the order given."""
    return [node_parameters(node) for node in broker_urls(url)]


def connect(url: str | None = None) -> pika.BlockingConnection:
    """A connection to the first node of `url` that answers (pika tries the list in turn)."""
    try:
        return pika.BlockingConnection(connection_parameters(url))
    except CONNECTION_ERRORS as exc:
        raise BrokerUnavailable(f"cannot connect to RabbitMQ: {exc!r}") from exc


def queue_arguments(*, deadletter_exchange: str = "") -> dict:
    """How every queue of this project is declared (RABBITMQ_QUEUE_TYPE). A quorum queue is
    replicated on the cluster's nodes and survives losing a minority of them. One that dead-letters
    also counts deliveries (a message that keeps coming back, say because it crashes its
    consumer, goes to the dead-letter queue with reason delivery_limit) and dead-letters
    at-least-once: the broker keeps the message until the dead-letter queue confirms it, which
    RabbitMQ only does with reject-publish overflow. Queues without a dead-letter exchange (the
    DLQs, the parked queues) get no delivery limit: past it, their messages would be dropped."""
    arguments = {}
    if settings.RABBITMQ_QUEUE_TYPE == "quorum":
        arguments["x-queue-type"] = "quorum"
        if deadletter_exchange:
            arguments |= {
                "x-delivery-limit": settings.RABBITMQ_DELIVERY_LIMIT,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
    if deadletter_exchange:
        arguments["x-dead-letter-exchange"] = deadletter_exchange
    return arguments


def plain_queue_declaration(queue: str) -> tuple[str, dict]:
    """A durable queue no one dead-letters from (a parked `.unmatched` queue)."""
    return ("queue_declare", {"queue": queue, "durable": True, "arguments": queue_arguments()})


def declare_queue_checked(connection, method: str, arguments: dict) -> bool:
    """Run one declaration on a channel of its own: a declaration the broker refuses (the queue
    exists with another type or other arguments, 406) closes only that channel. A refusal is
    recorded (logged once, shown by /readyz) and answered False; other errors propagate."""
    channel = connection.channel()
    try:
        getattr(channel, method)(**arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != 406:
            raise
        queue_declaration_refused(queue=arguments.get("queue", ""), reply_text=exc.reply_text)
        return False
    if method == "queue_declare":
        queue_declaration_accepted(queue=arguments["queue"])
    close_quietly(channel)
    return True


def close_quietly(connection) -> None:
    """Close a connection that may already be broken."""
    if connection is not None and connection.is_open:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail in many ways
            logger.debug("error while closing a broken connection", exc_info=True)


def deadletter_declarations(route: Route) -> list[tuple[str, dict]]:
    return [
        ("exchange_declare", {"exchange": route.deadletter_exchange, "exchange_type": "direct", "durable": True}),
        ("queue_declare", {"queue": route.deadletter_queue, "durable": True, "arguments": queue_arguments()}),
        (
            "queue_bind",
            {"queue": route.deadletter_queue, "exchange": route.deadletter_exchange, "routing_key": route.queue},
        ),
    ]


def route_declarations(route: Route) -> list[tuple[str, dict]]:
    """Durable exchange and queue, dead-lettering into a durable DLX/DLQ pair, as (channel method,
    arguments) in order: one definition of the topology for blocking and asynchronous channels."""
    return [
        *deadletter_declarations(route),
        ("exchange_declare", {"exchange": route.exchange, "exchange_type": "direct", "durable": True}),
        (
            "queue_declare",
            {
                "queue": route.queue,
                "durable": True,
                "arguments": queue_arguments(deadletter_exchange=route.deadletter_exchange),
            },
        ),
        ("queue_bind", {"queue": route.queue, "exchange": route.exchange, "routing_key": route.queue}),
    ]


def declare_deadletter(channel, route: Route) -> None:
    for method, arguments in deadletter_declarations(route):
        getattr(channel, method)(**arguments)


def declare_route(channel, route: Route) -> None:
    """Declare `route` on a blocking channel. Idempotent."""
    for method, arguments in route_declarations(route):
        getattr(channel, method)(**arguments)


def declare_checked(connection, declarations: list[tuple[str, dict]]) -> bool:
    """Run `declarations` in order, each on a channel of its own (declare_queue_checked); False,
    after recording why, at the first the broker refuses."""
    return all(declare_queue_checked(connection, method, arguments) for method, arguments in declarations)


def route_of(row) -> Route:
    return Route(row.queue_name, row.exchange_name, row.deadletter_queue_name, row.deadletter_exchange_name)


def message_properties(row) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=row.delivery_mode,
        message_id=str(row.message_id),
        type=row.message_type or None,
        timestamp=int(row.timestamp.timestamp()),
        expiration=str(row.expiration_secs * 1000) if row.expiration_secs else None,
        app_id=settings.DEPLOYMENT_NAME,
        headers={"x-outbox-id": row.pk},
    )


def message_body(row) -> bytes:
    """The row's JSON, encoded once: the stored text when the relay fetched it raw."""
    text = getattr(row, "body_text", None)
    if isinstance(text, str):
        return text.encode()
    return json.dumps(row.message_body_json, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class PublishOutcome:
    """What the publisher learnt since its last report: rows the broker confirmed, rows it refused
    (with why), or that the connection is gone (`lost`, the last report of that connection: every
    row not reported before is unknown to the relay and must be handed back)."""

    published: list = field(default_factory=list)
    failed: list[tuple[object, str]] = field(default_factory=list)
    lost: str = ""


CONFIRM_TIMEOUT_SECS = 30.0
OPEN_TIMEOUT_SECS = 15.0


class Publisher:
    """One long-lived connection and channel in publisher-confirm mode, with a window of up to
    `window` unconfirmed messages, driven by its own I/O thread (pika's SelectConnection).

    The relay's thread hands it rows (`submit`) and reads what became of them (`next_outcome`), so
    the relay's database work overlaps with publishing, and the broker always has a window of
    messages to persist and confirm. Confirms are matched to rows by delivery tag. Every message
    is mandatory: one no queue takes is returned, and fails alone, as does one the broker nacks.
    Only the I/O thread touches the connection; other threads reach it through the ioloop's
    add_callback_threadsafe.
    """

    def __init__(self, url: str | None = None, *, window: int | None = None):
        self.url = url
        self.window = window or settings.OUTBOX_PUBLISH_WINDOW
        self._session: _Session | None = None
        self._node = 0  # the node of RABBITMQ_URL tried first: the one that answered last

    @property
    def connection(self):
        return self._session.connection if self._session else None

    @property
    def is_open(self) -> bool:
        """Connected, with its channel in confirm mode or being opened again after a refusal."""
        return bool(self._session and self._session.ready.is_set() and not self._session.closed)

    def open(self) -> None:
        """Connect (if not connected) and wait until the channel is in confirm mode: to the node
        that answered last, else to the next nodes of RABBITMQ_URL in turn."""
        if self.is_open:
            return
        self.close()
        nodes = connection_parameters(self.url)
        errors = []
        for attempt in range(len(nodes)):
            index = (self._node + attempt) % len(nodes)
            session = _Session(nodes[index], self.window)
            self._session = session
            session.start()
            if session.ready.wait(OPEN_TIMEOUT_SECS) and not session.closed:
                self._node = index
                logger.info("publishing through RabbitMQ node %s:%s", nodes[index].host, nodes[index].port)
                return
            errors.append(f"{nodes[index].host}:{nodes[index].port}: {session.error or 'timed out'}")
            self.close()
        self._node = (self._node + 1) % len(nodes)
        raise BrokerUnavailable(f"cannot connect to RabbitMQ: {'; '.join(errors)}")

    def submit(self, rows: list) -> None:
        """Publish `rows` (in order, behind what was submitted before). Their fate arrives through
        next_outcome(); if the connection is lost first, the `lost` outcome stands for them."""
        if self._session is None:
            raise BrokerUnavailable("the publisher is not open")
        self._session.call(self._session.accept, list(rows))

    def next_outcome(self, timeout: float) -> PublishOutcome | None:
        """The next report of this connection, waiting up to `timeout` seconds (0: only what is
        there); None if none. A connection that was open ends with a `lost` report, unless closed."""
        if self._session is None:
            return None
        try:
            if timeout <= 0:
                return self._session.outcomes.get_nowait()
            return self._session.outcomes.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Close the connection and end its thread. What it had not reported stays unknown, and
        its reports go with it: the caller hands back the rows it had submitted."""
        session, self._session = self._session, None
        if session is not None:
            session.stop()


class _Session:
    """One connection and its I/O thread. Everything below `start` runs on that thread."""

    def __init__(self, params: pika.ConnectionParameters, window: int):
        self.window = window
        self.outcomes: queue.SimpleQueue[PublishOutcome] = queue.SimpleQueue()
        self.ready = threading.Event()
        self.error = ""
        self.usable = False
        self.closed = False
        self.lost_reported = False
        self.connection = pika.SelectConnection(
            params,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_connection_closed,
        )
        self.thread = threading.Thread(target=self._run, name="publisher-io", daemon=True)
        self.channel = None
        self.pending: deque = deque()  # rows waiting for room in the window
        self.alone: deque = deque()  # rows to publish one at a time (after the broker closed the channel)
        self.trying_alone = None  # the row being published alone, until it is settled
        self.unconfirmed: dict[int, object] = {}  # delivery tag -> row
        self.lowest_tag = 1
        self.next_tag = 1
        self.returned: dict[str, str] = {}  # message_id -> why the broker returned it
        self.declared: set[Route] = set()
        self.declaring: Route | None = None
        self.last_progress = time.monotonic()

    # -- from other threads ----------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def call(self, function, *args) -> None:
        if self.closed:
            return  # the `lost` report already stands for these rows
        try:
            self.connection.ioloop.add_callback_threadsafe(lambda: function(*args))
        except Exception:  # noqa: BLE001 - the ioloop is gone: the `lost` report stands for the rows
            logger.debug("publisher ioloop gone", exc_info=True)

    def stop(self) -> None:
        self.call(self._close)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.connection.ioloop.close()

    # -- the I/O thread --------------------------------------------------------------------
    def _run(self) -> None:
        self.connection.ioloop.call_later(1.0, self._watch_confirms)
        self.connection.ioloop.start()

    def report(self, outcome: PublishOutcome) -> None:
        if outcome.lost:
            if self.lost_reported:
                return
            self.lost_reported = True
        self.outcomes.put(outcome)

    def _close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
        elif not self.connection.is_closing:
            self.connection.ioloop.stop()

    def _on_open_error(self, connection, error) -> None:
        self.error = repr(error)
        self.closed = True
        self.ready.set()
        connection.ioloop.stop()

    def _on_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_closed(self, connection, reason) -> None:
        self.usable = False
        self.closed = True
        if not self.ready.is_set():
            self.error = repr(reason)
            self.ready.set()
        self.report(PublishOutcome(lost=repr(reason)))
        connection.ioloop.stop()

    def _on_channel_open(self, channel) -> None:
        self.channel = channel
        # delivery tags start again at 1 on every channel
        self.unconfirmed.clear()
        self.lowest_tag = self.next_tag = 1
        self.declaring = None
        self.declared.clear()
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_returned)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame) -> None:
        self.usable = True
        self.ready.set()
        self._pump()

    def _on_channel_closed(self, channel, reason) -> None:
        """The broker closed the channel: it refused a declaration or a publish. Which message was
        at fault is unknown, so the ones it had not confirmed are published again one at a time,
        each on a fresh channel if it fails; a row that closes the channel on its own fails."""
        if channel is not self.channel:
            return
        self.channel = None
        self.usable = False
        if self.closed or not self.connection.is_open:
            return  # the connection is going: _on_connection_closed reports
        logger.warning("the broker closed the publishing channel: %s", reason)
        culprit, self.trying_alone = self.trying_alone, None
        suspects = [row for row in self.unconfirmed.values() if row is not culprit]
        self.unconfirmed.clear()
        if culprit is not None:
            self.alone.popleft()
            self.report(PublishOutcome(failed=[(culprit, f"broker refused the message: {reason}"[:2000])]))
        elif self.declaring is not None:
            # rows of a route whose declaration failed are tried alone: each fails with the reason
            refused = self.declaring
            if getattr(reason, "reply_code", None) == 406:
                queue_declaration_refused(queue=refused.queue, reply_text=reason.reply_text)
            suspects += [row for row in self.pending if route_of(row) == refused]
            self.pending = deque(row for row in self.pending if route_of(row) != refused)
        self.alone.extendleft(reversed(suspects))
        self.connection.channel(on_open_callback=self._on_channel_open)

    def _on_returned(self, _channel, method, properties, _body) -> None:
        # mandatory messages no queue took (a queue deleted behind our back): not published; the
        # topology is declared again before the next message
        self.returned[properties.message_id] = f"unroutable: {method.reply_code} {method.reply_text}"
        self.declared.clear()

    def _on_confirm(self, frame) -> None:
        method = frame.method
        if method.multiple:
            tags = range(self.lowest_tag, method.delivery_tag + 1)
        else:
            tags = (method.delivery_tag,)
        pop = self.unconfirmed.pop
        rows = [row for row in (pop(tag, None) for tag in tags) if row is not None]
        while self.lowest_tag < self.next_tag and self.lowest_tag not in self.unconfirmed:
            self.lowest_tag += 1
        self.last_progress = time.monotonic()
        outcome = PublishOutcome()
        if isinstance(method, pika.spec.Basic.Nack):
            outcome.failed = [(row, "nacked by the broker") for row in rows]
        elif self.returned:
            for row in rows:
                reason = self.returned.pop(str(row.message_id), None)
                if reason:
                    outcome.failed.append((row, reason))
                else:
                    outcome.published.append(row)
        else:
            outcome.published = rows
        if self.trying_alone is not None and any(row is self.trying_alone for row in rows):
            self.trying_alone = None
            self.alone.popleft()
        if rows:
            self.report(outcome)
        self._pump()

    def accept(self, rows: list) -> None:
        self.pending.extend(rows)
        self._pump()

    def _pump(self) -> None:
        """Publish what the window has room for, declaring each route before its first message."""
        if not self.usable or self.declaring is not None:
            return
        if self.alone:
            if self.unconfirmed:
                return  # let the window drain first
            row = self.trying_alone = self.alone[0]
            if self._declared(route_of(row)):
                self._publish(row)
            return
        pending, unconfirmed = self.pending, self.unconfirmed
        while pending and len(unconfirmed) < self.window:
            if not self._declared(route_of(pending[0])):
                return
            self._publish(pending.popleft())

    def _declared(self, route: Route) -> bool:
        """Whether `route` is declared on this channel; if not, declare it and resume when done."""
        if route in self.declared:
            return True
        if self.unconfirmed:
            # a declaration the broker refuses closes the channel, and the messages in flight on it
            # would then be published again: let them be confirmed first (once per route and channel)
            return False
        self.declaring = route
        steps = route_declarations(route)
        # the channel runs its declarations in order, one at a time: the last one's answer means
        # all are done (a refusal closes the channel instead)
        for method, arguments in steps[:-1]:
            getattr(self.channel, method)(**arguments)
        method, arguments = steps[-1]
        getattr(self.channel, method)(callback=lambda _frame: self._on_declared(route), **arguments)
        return False

    def _on_declared(self, route: Route) -> None:
        self.declaring = None
        self.declared.add(route)
        for name in (route.queue, route.deadletter_queue):
            queue_declaration_accepted(queue=name)
        self._pump()

    def _publish(self, row) -> None:
        if not self.unconfirmed:
            self.last_progress = time.monotonic()
        self.channel.basic_publish(
            row.exchange_name, row.queue_name, message_body(row), message_properties(row), mandatory=True
        )
        self.unconfirmed[self.next_tag] = row
        self.next_tag += 1

    def _watch_confirms(self) -> None:
        """A broker that takes messages and never confirms them is as good as gone."""
        if self.closed:
            return
        if self.unconfirmed and time.monotonic() - self.last_progress > CONFIRM_TIMEOUT_SECS:
            logger.warning("%d message(s) not confirmed within %.0fs", len(self.unconfirmed), CONFIRM_TIMEOUT_SECS)
            self.usable = False
            self.closed = True
            self.report(PublishOutcome(lost=f"{len(self.unconfirmed)} message(s) not confirmed in time"))
            self.connection.close()
            return
        self.connection.ioloop.call_later(1.0, self._watch_confirms)
