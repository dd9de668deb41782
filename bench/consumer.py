"""user_sync_consumer apply rate on MariaDB against bare pika consuming with prefetch 100 and an
ack per message, in the same run. Prints one line. Target: >= 0.5x bare consume."""

import argparse
import threading
import time
import uuid

from harness import delete_route, setup_django


def fill(channel, route, n, source):
    import json

    import pika

    for i in range(n):
        body = {
            "type": "user.created",
            "source": source,
            "source_id": i,
            "occurred_at": "2026-01-01T00:00:00Z",
            "user": {
                "username": f"{source}-{i}",
                "email": f"u{i}@example.com",
                "first_name": "Bench",
                "last_name": f"User{i}",
                "user_type": "student",
                "is_active": True,
                "is_deleted": False,
                "password": "pbkdf2_sha256$1000000$salt$" + "A" * 43 + "=",
            },
        }
        channel.basic_publish(
            route.exchange,
            route.queue,
            json.dumps(body).encode(),
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                message_id=str(uuid.uuid4()),
                type="user.created",
                headers={"x-outbox-id": i + 1},
            ),
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    setup_django(USER_SYNC_PREFETCH="100")

    from django.conf import settings

    from pubsub.broker import connect, declare_route
    from pubsub.conf import user_sync_routes
    from users.models import SyncedUserLink, User, UserSyncInbox
    from users.sync_consumer import UserSyncConsumer

    route = user_sync_routes()[0]
    source = f"bench-{uuid.uuid4().hex[:6]}"
    connection = connect()
    channel = connection.channel()
    declare_route(channel, route)
    try:
        # baseline: bare pika, prefetch 100, ack each message
        fill(channel, route, args.n, source + "-bare")
        channel.basic_qos(prefetch_count=100)
        received = 0
        started = time.perf_counter()
        for method, _props, _body in channel.consume(route.queue, inactivity_timeout=5):
            if method is None:
                break
            channel.basic_ack(method.delivery_tag)
            received += 1
            if received == args.n:
                break
        bare_rate = received / (time.perf_counter() - started)
        channel.cancel()

        # the consumer daemon applying the same number of user.created messages
        fill(channel, route, args.n, source)
        consumer = UserSyncConsumer()
        thread = threading.Thread(target=consumer.run)
        started = time.perf_counter()
        thread.start()
        deadline = time.monotonic() + 600
        while consumer.processed < args.n and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        consumer.stop()
        thread.join()
        applied = User.objects.filter(username__startswith=source + "-").count()
        assert applied == args.n, f"applied {applied} of {args.n}"
        apply_rate = args.n / elapsed
    finally:
        delete_route(route)
        connection.close()
        User.objects.filter(username__startswith=source).delete()
        UserSyncInbox.objects.filter(source=source).delete()
        SyncedUserLink.objects.filter(source=source).delete()

    print(
        f"consumer: {apply_rate:,.0f} msg/s applied = {apply_rate / bare_rate:.2f}x bare pika consume "
        f"({bare_rate:,.0f} msg/s, prefetch {settings.USER_SYNC_PREFETCH}); n={args.n} (target 0.5x)"
    )


if __name__ == "__main__":
    main()
