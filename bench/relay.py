"""Relay throughput: producer_service draining N outbox rows on MariaDB, against bare unconfirmed
pika publishing and a connection-per-message relay (how the original worked), in the same run.

Prints one line. Target: relay >= 0.5x unconfirmed, >= 30x connection-per-message.
"""

import argparse
import time

from common import delete_route, kb_body, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20000, help="outbox rows for the relay")
    parser.add_argument("--per-message-n", type=int, default=300, help="messages for the slow baseline")
    args = parser.parse_args()
    setup_django()

    import json

    import pika

    from pubsub.broker import connect, declare_route, message_body, message_properties
    from pubsub.conf import user_sync_routes
    from pubsub.models import QueuePublishHistory
    from pubsub.outbox import queue_msg_to_publish
    from pubsub.producer import ProducerService

    route = user_sync_routes()[0]
    QueuePublishHistory.objects.all().delete()
    rows = [
        QueuePublishHistory(
            queue_name=route.queue,
            exchange_name=route.exchange,
            deadletter_queue_name=route.deadletter_queue,
            deadletter_exchange_name=route.deadletter_exchange,
            message_type="user.created",
            message_body_json=kb_body(i),
        )
        for i in range(args.n)
    ]
    QueuePublishHistory.objects.bulk_create(rows, batch_size=2000)
    assert queue_msg_to_publish  # the enqueue path is exercised by the tests; rows are bulk-loaded here

    try:
        service = ProducerService(once=True)
        started = time.perf_counter()
        service.run()
        relay_rate = service.processed / (time.perf_counter() - started)
        assert service.processed == args.n, f"relay published {service.processed} of {args.n}"
        sample = QueuePublishHistory.objects.order_by("pk")[: args.n]

        # baseline 1: bare unconfirmed publishing of the same messages on one connection
        connection = connect()
        channel = connection.channel()
        declare_route(channel, route)
        payloads = [(message_body(row), message_properties(row)) for row in sample]
        started = time.perf_counter()
        for body, props in payloads:
            channel.basic_publish(route.exchange, route.queue, body, props)
        connection.process_data_events(0)
        bare_rate = len(payloads) / (time.perf_counter() - started)
        connection.close()

        # context: the same messages published from memory with confirms, as the relay must (its
        # Publishers, batches in flight on OUTBOX_PUBLISH_CONNECTIONS connections, no database)
        confirmed_rate = _confirmed_rate(sample)

        # baseline 2: the original relay: a new connection and a transaction per message
        started = time.perf_counter()
        for body, props in payloads[: args.per_message_n]:
            conn = pika.BlockingConnection(pika.URLParameters(_url()))
            ch = conn.channel()
            ch.tx_select()
            ch.basic_publish(route.exchange, route.queue, json.dumps(body.decode()).encode(), props)
            ch.tx_commit()
            conn.close()
        per_message_rate = args.per_message_n / (time.perf_counter() - started)
    finally:
        delete_route(route)
        QueuePublishHistory.objects.all().delete()

    print(
        f"relay: {relay_rate:,.0f} msg/s = {relay_rate / bare_rate:.2f}x unconfirmed ({bare_rate:,.0f} msg/s), "
        f"{relay_rate / per_message_rate:.1f}x connection-per-message ({per_message_rate:,.0f} msg/s), "
        f"{relay_rate / confirmed_rate:.2f}x confirmed publishing from memory ({confirmed_rate:,.0f} msg/s); "
        f"n={args.n} (targets 0.5x, 30x)"
    )


def _confirmed_rate(rows) -> float:
    import threading

    from django.conf import settings

    from pubsub.broker import Publisher

    rows = list(rows)  # fetched before the clock starts
    batches = [rows[i : i + settings.OUTBOX_BATCH_SIZE] for i in range(0, len(rows), settings.OUTBOX_BATCH_SIZE)]
    publishers = [Publisher() for _ in range(settings.OUTBOX_PUBLISH_CONNECTIONS)]
    for publisher in publishers:
        publisher.open()
    lock = threading.Lock()

    def publish_all(publisher):
        while True:
            with lock:
                if not batches:
                    return
                batch = batches.pop()
            publisher.publish_batch(batch)

    threads = [threading.Thread(target=publish_all, args=(p,)) for p in publishers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = len(rows) / (time.perf_counter() - started)
    for publisher in publishers:
        publisher.close()
    return rate


def _url():
    from django.conf import settings

    return settings.RABBITMQ_URL


if __name__ == "__main__":
    main()
