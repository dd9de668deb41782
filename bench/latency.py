"""Latency from a user's commit to its message in the queue, with one idle producer_service.
Prints one line with p50/p99 (and the ratio of p99 to the 250 ms target)."""

import argparse
import random
import statistics
import threading
import time

from common import delete_route, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    setup_django()

    from pubsub.broker import connect, declare_route
    from pubsub.conf import user_sync_routes
    from pubsub.producer import ProducerService
    from users.models import User

    route = user_sync_routes()[0]
    connection = connect()
    channel = connection.channel()
    declare_route(channel, route)
    relay = ProducerService()
    thread = threading.Thread(target=relay.run)
    thread.start()
    prefix = f"lat{random.randrange(10**6)}-"
    latencies = []
    try:
        time.sleep(0.5)
        for i in range(args.n):
            # land at a random point of the relay's idle poll
            time.sleep(random.uniform(0, 0.12))
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
        f"latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms = {p99 / 250:.2f}x the 250 ms target; "
        f"n={len(latencies)} commit-to-queue with one idle relay"
    )


if __name__ == "__main__":
    main()
