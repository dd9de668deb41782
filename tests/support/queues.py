"""Looking inside RabbitMQ queues from a test, straight to the broker (never through a proxy)."""

from collections import Counter

import pika


def drain_message_ids(url: str, queue: str, *, idle_secs: float = 1.0) -> Counter:
    """Consume and ack everything in `queue` (no one else may be publishing to it); returns how
    many times each message_id was there."""
    seen: Counter = Counter()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        expected = channel.queue_declare(queue, passive=True).method.message_count
        channel.basic_qos(prefetch_count=1000)
        last_tag, unacked = None, 0
        for method, properties, _body in channel.consume(queue, inactivity_timeout=idle_secs):
            if method is None:
                break
            seen[properties.message_id] += 1
            last_tag, unacked = method.delivery_tag, unacked + 1
            if unacked >= 500:
                channel.basic_ack(last_tag, multiple=True)
                unacked = 0
            if seen.total() >= expected:
                break
        if unacked:
            channel.basic_ack(last_tag, multiple=True)
        channel.cancel()
    finally:
        connection.close()
    return seen


def duplicates(seen: Counter) -> int:
    """Deliveries beyond the first of each message_id."""
    return sum(seen.values()) - len(seen)


def queue_audit(url: str, queue: str, expected_ids: set[str]) -> tuple[set[str], int]:
    """Drain `queue` and compare with the ids that should be there: (missing ids, duplicates).
    A message that is not one of `expected_ids` fails the test on the spot."""
    seen = drain_message_ids(url, queue)
    unexpected = set(seen) - expected_ids
    assert not unexpected, f"{len(unexpected)} message(s) in {queue} that the outbox never held"
    return expected_ids - set(seen), duplicates(seen)
