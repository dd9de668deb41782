"""Relay throughput: producer_service draining N outbox rows on MariaDB, against the broker's
confirmed-publish ceiling measured in the same run: bare pika, asynchronous (SelectConnection),
publisher confirms with a window of 1,000 unconfirmed messages, the same messages from memory.

For context, three more figures: the relay's Publisher alone, fed the same rows from memory (what
the relay would do without its database work), bare unconfirmed publishing, and a
connection-per-message relay (how the original worked). Every figure is timed until the broker
has the messages: confirmed (the relay, the ceiling), counted in the queue (unconfirmed), or
committed (per message); a client that has only written to its socket has published nothing yet.

Prints one line. Targets: relay >= 0.8x the confirmed ceiling, >= 30x connection-per-message.
"""

import argparse
import time

from harness import delete_route, kb_body, setup_django

CEILING_WINDOW = 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20000, help="outbox rows for the relay, messages for the baselines")
    parser.add_argument("--per-message-n", type=int, default=300, help="messages for the slow baseline")
    args = parser.parse_args()
    setup_django()

    from pubsub.broker import connect, message_body, message_properties
    from pubsub.conf import user_sync_routes
    from pubsub.models import QueuePublishHistory
    from pubsub.producer import ProducerService
    from pubsub.relay import ClaimedMessage, _raw_body

    route = user_sync_routes()[0]
    QueuePublishHistory.objects.all().delete()
    QueuePublishHistory.objects.bulk_create(
        [
            QueuePublishHistory(
                queue_name=route.queue,
                exchange_name=route.exchange,
                deadletter_queue_name=route.deadletter_queue,
                deadletter_exchange_name=route.deadletter_exchange,
                message_type="user.created",
                message_body_json=kb_body(i),
            )
            for i in range(args.n)
        ],
        batch_size=2000,
    )

    try:
        service = ProducerService(once=True)
        started = time.perf_counter()
        service.run()
        relay_rate = service.processed / (time.perf_counter() - started)
        assert service.processed == args.n, f"relay published {service.processed} of {args.n}"
        assert _queue_depth(route.queue) == args.n

        # the same messages, built before any clock starts
        rows = [
            ClaimedMessage(*values)
            for values in QueuePublishHistory.objects.annotate(body_text=_raw_body())
            .order_by("pk")
            .values_list(*ClaimedMessage.__slots__[:-1])
        ]
        payloads = [(message_body(row), message_properties(row)) for row in rows]

        _purge(route.queue)
        ceiling_rate = _confirmed_rate(route, payloads, window=CEILING_WINDOW)

        _purge(route.queue)
        publisher_rate = _publisher_rate(rows, batch_size=service.relay.batch_size)

        _purge(route.queue)
        connection = connect()
        channel = connection.channel()
        started = time.perf_counter()
        for body, props in payloads:
            channel.basic_publish(route.exchange, route.queue, body, props)
        while channel.queue_declare(route.queue, passive=True).method.message_count < len(payloads):
            connection.sleep(0.002)
        unconfirmed_rate = len(payloads) / (time.perf_counter() - started)
        connection.close()

        _purge(route.queue)
        per_message_rate = _per_message_rate(route, payloads[: args.per_message_n])
    finally:
        delete_route(route)
        QueuePublishHistory.objects.all().delete()

    print(
        f"relay: {relay_rate:,.0f} msg/s = {relay_rate / ceiling_rate:.2f}x the confirmed ceiling "
        f"(async pika, window {CEILING_WINDOW:,}: {ceiling_rate:,.0f} msg/s; target 0.8x); "
        f"its publisher alone, from memory, {publisher_rate:,.0f} msg/s ({publisher_rate / ceiling_rate:.2f}x); "
        f"unconfirmed {unconfirmed_rate:,.0f} msg/s (relay = {relay_rate / unconfirmed_rate:.2f}x); "
        f"connection-per-message {per_message_rate:,.0f} msg/s (relay = {relay_rate / per_message_rate:.0f}x, "
        f"target 30x); n={args.n}"
    )


def _confirmed_rate(route, payloads, *, window: int) -> float:
    """Publish `payloads` with confirms, at most `window` unconfirmed, on one asynchronous
    connection; timed from the channel being ready to the last confirm."""
    import pika

    from pubsub.broker import connection_parameters, route_declarations

    state = {"sent": 0, "lowest": 1, "unconfirmed": set(), "started": 0.0, "elapsed": 0.0}

    def on_open(connection):
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel):
        state["channel"] = channel
        steps = route_declarations(route)
        for method, arguments in steps[:-1]:
            getattr(channel, method)(**arguments)
        method, arguments = steps[-1]
        getattr(channel, method)(
            callback=lambda _frame: channel.confirm_delivery(ack_nack_callback=on_confirm, callback=start), **arguments
        )

    def start(_frame):
        state["started"] = time.perf_counter()
        pump()

    def pump():
        channel, unconfirmed = state["channel"], state["unconfirmed"]
        while state["sent"] < len(payloads) and len(unconfirmed) < window:
            body, props = payloads[state["sent"]]
            channel.basic_publish(route.exchange, route.queue, body, props, mandatory=True)
            state["sent"] += 1
            unconfirmed.add(state["sent"])

    def on_confirm(frame):
        tag, unconfirmed = frame.method.delivery_tag, state["unconfirmed"]
        if frame.method.multiple:
            for each in range(state["lowest"], tag + 1):
                unconfirmed.discard(each)
            state["lowest"] = tag + 1
        else:
            unconfirmed.discard(tag)
        if state["sent"] == len(payloads) and not unconfirmed:
            state["elapsed"] = time.perf_counter() - state["started"]
            connection.close()
        else:
            pump()

    connection = pika.SelectConnection(
        connection_parameters(), on_open_callback=on_open, on_close_callback=lambda *_: connection.ioloop.stop()
    )
    connection.ioloop.start()
    assert state["elapsed"], "the confirmed baseline did not finish"
    return len(payloads) / state["elapsed"]


def _publisher_rate(rows, *, batch_size: int) -> float:
    """The relay's Publisher fed the rows from memory, in the relay's batches: no database."""
    from pubsub.broker import Publisher

    publisher = Publisher()
    publisher.open()
    started = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        publisher.submit(rows[start : start + batch_size])
    answered = 0
    while answered < len(rows):
        outcome = publisher.next_outcome(30)
        assert outcome is not None and not outcome.lost, "the publisher did not finish"
        answered += len(outcome.published) + len(outcome.failed)
    rate = len(rows) / (time.perf_counter() - started)
    publisher.close()
    return rate


def _per_message_rate(route, payloads) -> float:
    """The original relay: a new connection and an AMQP transaction per message."""
    import pika
    from django.conf import settings

    started = time.perf_counter()
    for body, props in payloads:
        connection = pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))
        channel = connection.channel()
        channel.tx_select()
        channel.basic_publish(route.exchange, route.queue, body, props)
        channel.tx_commit()
        connection.close()
    return len(payloads) / (time.perf_counter() - started)


def _queue_depth(queue: str) -> int:
    from pubsub.broker import connect

    connection = connect()
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def _purge(queue: str) -> None:
    from pubsub.broker import connect

    connection = connect()
    try:
        connection.channel().queue_purge(queue)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
