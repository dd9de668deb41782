"""RabbitMQ access with pika: connection parameters, topology and the batch publisher."""

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pika
from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError, ChannelClosed

from pubsub.conf import Route, setting

logger = logging.getLogger(__name__)

# errors after which the connection is gone and must be rebuilt
CONNECTION_ERRORS = (AMQPConnectionError, pika.exceptions.StreamLostError, pika.exceptions.ConnectionClosed, OSError)


class BrokerUnavailable(Exception):
    """The broker connection failed or was lost; nothing about the messages themselves.
    `partial` holds what the broker did confirm before the loss."""

    def __init__(self, message: str, partial: "BatchResult | None" = None):
        super().__init__(message)
        self.partial = partial


def connection_parameters(url: str | None = None) -> pika.URLParameters:
    params = pika.URLParameters(url or setting("RABBITMQ_URL"))
    params.heartbeat = 30
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": f"ops-console:{setting('DEPLOYMENT_NAME')}"}
    return params


def connect(url: str | None = None) -> pika.BlockingConnection:
    try:
        return pika.BlockingConnection(connection_parameters(url))
    except CONNECTION_ERRORS as exc:
        raise BrokerUnavailable(f"cannot connect to RabbitMQ: {exc!r}") from exc


def close_quietly(connection) -> None:
    """Close a connection that may already be broken."""
    if connection is not None and connection.is_open:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail in many ways
            logger.debug("error while closing a broken connection", exc_info=True)


def declare_deadletter(channel, route: Route) -> None:
    channel.exchange_declare(route.deadletter_exchange, exchange_type="direct", durable=True)
    channel.queue_declare(route.deadletter_queue, durable=True)
    channel.queue_bind(route.deadletter_queue, route.deadletter_exchange, routing_key=route.queue)


def declare_route(channel, route: Route) -> None:
    """Durable exchange and queue, dead-lettering into a durable DLX/DLQ pair. Idempotent."""
    declare_deadletter(channel, route)
    channel.exchange_declare(route.exchange, exchange_type="direct", durable=True)
    channel.queue_declare(route.queue, durable=True, arguments={"x-dead-letter-exchange": route.deadletter_exchange})
    channel.queue_bind(route.queue, route.exchange, routing_key=route.queue)


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
        app_id=setting("DEPLOYMENT_NAME"),
        headers={"x-outbox-id": row.pk},
    )


def message_body(row) -> bytes:
    """The row's JSON, encoded once: the stored text when the relay fetched it raw."""
    text = getattr(row, "body_text", None)
    if isinstance(text, str):
        return text.encode()
    return json.dumps(row.message_body_json, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class BatchResult:
    published: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


CONFIRM_TIMEOUT_SECS = 30.0


class _ChannelLost(Exception):
    """The broker closed the channel (it refused something in the batch)."""


class Publisher:
    """One long-lived connection and channel in publisher-confirm mode.

    A batch is written to the socket in one go and then waited on: the broker confirms each
    message once it has taken responsibility for it (persisted, for persistent messages), so a
    batch costs one round trip, not one per message. Unroutable messages (mandatory) and nacks
    are failures of that message alone.
    """

    def __init__(self, url: str | None = None):
        self.url = url
        self.connection = None
        self.channel = None
        self._async = None
        self._declared: set[Route] = set()
        self._returned: dict[str, str] = {}
        self._unconfirmed: dict[int, int] = {}
        self._acked: list[int] = []
        self._nacked: list[int] = []
        self._next_tag = 1
        self._close_reason = ""

    @property
    def is_open(self) -> bool:
        return bool(self.connection and self.connection.is_open and self.channel and self.channel.is_open)

    def open(self) -> None:
        if self.connection is None or not self.connection.is_open:
            self.close()
            self.connection = connect(self.url)
            self._declared.clear()
        if self.channel is None or not self.channel.is_open:
            try:
                self._open_channel()
            except CONNECTION_ERRORS as exc:
                self.close()
                raise BrokerUnavailable(f"cannot open a channel: {exc!r}") from exc

    def _open_channel(self) -> None:
        self.channel = self.connection.channel()
        # BlockingChannel waits for each confirm in turn; the asynchronous channel underneath it
        # lets a whole batch be in flight at once. Only this publisher's thread touches either.
        self._async = self.channel._impl
        self._unconfirmed.clear()
        self._next_tag = 1
        self._close_reason = ""
        selected = []
        self._async.add_on_return_callback(self._on_returned)
        self._async.add_on_close_callback(self._on_channel_closed)
        self._async.confirm_delivery(self._on_confirm, callback=lambda frame: selected.append(frame))
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECS
        while not selected:
            if time.monotonic() > deadline:
                raise BrokerUnavailable("the broker did not enable publisher confirms")
            self.connection.process_data_events(time_limit=0.05)

    def close(self) -> None:
        connection, self.connection, self.channel, self._async = self.connection, None, None, None
        self._declared.clear()
        close_quietly(connection)

    def wait(self, seconds: float) -> None:
        """Idle without starving the connection's heartbeats."""
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.process_data_events(time_limit=seconds)
                return
            except CONNECTION_ERRORS:
                self.close()
        time.sleep(seconds)

    # -- broker callbacks (run inside process_data_events, on this publisher's thread) ---------
    def _on_confirm(self, frame) -> None:
        method = frame.method
        into = self._nacked if isinstance(method, pika.spec.Basic.Nack) else self._acked
        if method.multiple:
            tags = [tag for tag in self._unconfirmed if tag <= method.delivery_tag]
        else:
            tags = [method.delivery_tag]
        for tag in tags:
            pk = self._unconfirmed.pop(tag, None)
            if pk is not None:
                into.append(pk)

    def _on_returned(self, channel, method, properties, body) -> None:
        # mandatory messages no queue took (a queue deleted behind our back): not published
        self._returned[properties.message_id] = f"unroutable: {method.reply_code} {method.reply_text}"

    def _on_channel_closed(self, channel, reason) -> None:
        self._close_reason = str(reason)

    # -- publishing ----------------------------------------------------------------------------
    def _declare(self, routes: Iterable[Route]) -> None:
        for route in routes:
            if route not in self._declared:
                declare_route(self.channel, route)
                self._declared.add(route)

    def _send_and_confirm(self, rows: list) -> BatchResult:
        self._returned.clear()
        self._acked, self._nacked = [], []
        for row in rows:
            self._async.basic_publish(
                row.exchange_name, row.queue_name, message_body(row), message_properties(row), mandatory=True
            )
            self._unconfirmed[self._next_tag] = row.pk
            self._next_tag += 1
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECS
        while self._unconfirmed:
            if not self._async.is_open:
                raise _ChannelLost(self._close_reason)
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"{len(self._unconfirmed)} message(s) not confirmed within {CONFIRM_TIMEOUT_SECS:.0f}s"
                )
            self.connection.process_data_events(time_limit=0.05)
        failed = {pk: "nacked by the broker" for pk in self._nacked}
        for row in rows:
            reason = self._returned.get(str(row.message_id))
            if reason:
                failed[row.pk] = reason
        if self._returned:
            self._declared.clear()  # re-declare the topology before the next batch
        return BatchResult(published=[pk for pk in self._acked if pk not in failed], failed=failed)

    def publish_batch(self, rows: list) -> BatchResult:
        """Publish rows and wait for the broker's confirms. A channel error (the broker refused
        something) falls back to one message at a time so only the bad ones fail; a lost
        connection raises BrokerUnavailable carrying what was confirmed before the loss."""
        self.open()
        try:
            self._declare({route_of(row) for row in rows})
            return self._send_and_confirm(rows)
        except (_ChannelLost, AMQPChannelError, ChannelClosed) as exc:
            logger.warning("batch of %d failed on the channel (%s); publishing one by one", len(rows), exc)
            return self._publish_one_by_one(rows)
        except (*CONNECTION_ERRORS, AMQPError) as exc:
            partial = BatchResult(published=list(self._acked))
            self.close()
            raise BrokerUnavailable(f"connection lost while publishing: {exc!r}", partial) from exc

    def _publish_one_by_one(self, rows: list) -> BatchResult:
        result = BatchResult()
        for row in rows:
            try:
                self.open()
                declare_route(self.channel, route_of(row))
                single = self._send_and_confirm([row])
                result.published.extend(single.published)
                result.failed.update(single.failed)
            except (_ChannelLost, AMQPChannelError, ChannelClosed) as exc:
                result.failed[row.pk] = f"broker refused the message: {exc}"[:2000]
                self.channel = None
            except (*CONNECTION_ERRORS, AMQPError, BrokerUnavailable) as exc:
                self.close()
                raise BrokerUnavailable(f"connection lost while publishing: {exc!r}", result) from exc
        return result
