"""Latency from a user's commit to its message in the queue, with one idle producer_service, and
what that idle relay costs the database: its queries per second while there is nothing to do.
Prints one line with p50/p99 (and the ratio of p99 to the 50 ms target)."""

import argparse
import random
import statistics
import threading
import time

from harness import delete_route, setup_django

TARGET_P99_MS = 50
IDLE_SECS = 5.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection as db

    from pubsub.broker import connect, declare_route
    from pubsub.conf import user_sync_routes
    from pubsub.producer import ProducerService
    from users.models import User

    route = user_sync_routes()[0]
    connection = connect()
    channel = connection.channel()
    declare_route(channel, route)
    relay = ProducerService()
    queries = []

    def count_queries(execute, sql, params, many, context):
        queries.append(time.monotonic())
        return execute(sql, params, many, context)

    def run_relay():
        # the relay thread's own connection: only its queries are counted (the recorder thread
        # writes only when there is something to record)
        with db.execute_wrapper(count_queries):
            relay.run()

    thread = threading.Thread(target=run_relay)
    thread.start()
    prefix = f"lat{random.randrange(10**6)}-"
    latencies = []
    try:
        time.sleep(1.0)
        idle_started = time.monotonic()
        time.sleep(IDLE_SECS)
        idle_qps = sum(1 for at in queries if at >= idle_started) / (time.monotonic() - idle_started)
        for i in range(args.n):
            # land at a random point of the relay's idle poll
            time.sleep(random.uniform(0, 2 * settings.OUTBOX_IDLE_POLL_MS / 1000))
            User.objects.create(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com")
            committed = time.perf_counter()
            while True:
                method, _props, _body = channel.basic_get(route.queue, auto_ack=True)
                if method is not None:
                    latencies.append((time.perf_counter() - committed) * 1000)
                    break
                connection.sleep(0.001)
    finally:
        relay.stop()
        thread.join()
        delete_route(route)
        User.objects.filter(username__startswith=prefix).delete()
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms = {p99 / TARGET_P99_MS:.2f}x the {TARGET_P99_MS} ms target; "
        f"n={len(latencies)} commit-to-queue with one idle relay; idle relay: {idle_qps:.0f} queries/s "
        f"(OUTBOX_IDLE_POLL_MS={settings.OUTBOX_IDLE_POLL_MS})"
    )


if __name__ == "__main__":
    main()
