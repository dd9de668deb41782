"""Malformed and foreign dead letters against the real broker and the real deadletter_consumer:
a row it can match is marked expired with the broker's reason (or "unknown"), anything else is
parked intact in `<dlq>.unmatched`, and the consumer never crash-loops or drops a message."""

import time
import uuid

import pika
import pytest

from pubsub.deadletter import DeadletterConsumer, unmatched_queue
from pubsub.models import QueuePublishHistory

Status = QueuePublishHistory.Status
NO_HEADERS = object()

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_letter(rabbit):
    """Publish straight to the route's dead-letter exchange, as the broker does when it dead-letters."""
    rabbit.declare()
    channel = rabbit.channel()
    channel.confirm_delivery()

    def _dead_letter(*, message_id=None, body=b"{}", headers=NO_HEADERS):
        if headers is NO_HEADERS:
            headers = {"x-death": [{"reason": b"rejected", "queue": rabbit.route.queue, "count": 1}]}
        channel.basic_publish(
            rabbit.route.deadletter_exchange,
            rabbit.route.queue,
            body,
            pika.BasicProperties(message_id=message_id, headers=headers, delivery_mode=2),
        )

    return _dead_letter


@pytest.fixture
def parking(rabbit):
    """The route's parking queue: its messages, fetched once they arrived; deleted afterwards."""
    queue = unmatched_queue(rabbit.route.deadletter_queue)

    def _parked(expected: int, timeout: float = 30.0) -> list:
        channel = rabbit.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = channel.queue_declare(queue, durable=True).method.message_count
            if count >= expected:
                break
            time.sleep(0.05)
        return rabbit.get_all(queue)

    yield _parked
    rabbit.channel().queue_delete(queue)


def run_once(consumer_class=DeadletterConsumer):
    consumer = consumer_class(once=True)
    consumer.run()
    return consumer


def expired_reason(row) -> str:
    row.refresh_from_db()
    assert row.status == Status.EXPIRED
    return row.expired_reason


MALFORMED_X_DEATH = {
    "no-headers": None,
    "no-x-death": {},
    "x-death-not-a-list": {"x-death": {"reason": b"expired"}},
    "x-death-a-string": {"x-death": "expired"},
    "x-death-a-number": {"x-death": 7},
    "x-death-empty": {"x-death": []},
    "x-death-of-strings": {"x-death": ["expired", "rejected"]},
    "reason-a-number": {"x-death": [{"reason": 5, "count": 1}]},
    "reason-a-list": {"x-death": [{"reason": [b"expired"], "count": 1}]},
    "reason-blank": {"x-death": [{"reason": b"   "}]},
}


@pytest.mark.parametrize("headers", MALFORMED_X_DEATH.values(), ids=MALFORMED_X_DEATH.keys())
def test_a_matched_dead_letter_with_a_malformed_x_death_is_marked_expired_for_an_unknown_reason(
    rabbit, make_row, dead_letter, parking, headers
):
    row = make_row(status=Status.PUBLISHED)
    dead_letter(message_id=str(row.message_id), headers=headers)

    consumer = run_once()

    assert expired_reason(row) == "unknown"
    assert row.next_attempt_at is None  # an unknown reason is never republished automatically
    assert consumer.processed == 1
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0
    assert parking(0) == []


def test_x_first_death_reason_is_used_when_x_death_is_unreadable(make_row, dead_letter, parking):
    row = make_row(status=Status.PUBLISHED)
    dead_letter(message_id=str(row.message_id), headers={"x-death": "junk", "x-first-death-reason": b"maxlen"})

    run_once()

    assert expired_reason(row) == "maxlen"


@pytest.mark.parametrize(
    "body", [b"\xff\xfe not json", b"[" * 10_000, b"x" * (8 * 1024 * 1024)], ids=["not-json", "deep", "8-mib"]
)
def test_a_matched_dead_letter_is_marked_expired_whatever_its_body(make_row, dead_letter, parking, body):
    row = make_row(status=Status.PUBLISHED)
    dead_letter(message_id=str(row.message_id), body=body)

    run_once()

    assert expired_reason(row) == "rejected"
    assert parking(0) == []


UNMATCHED = {
    "missing-message-id": (None, "no UUID message_id"),
    "message-id-not-a-uuid": ("not-a-uuid", "no UUID message_id"),
    "message-id-empty": ("", "no UUID message_id"),
    "message-id-of-another-outbox": (str(uuid.uuid4()), "not in this outbox"),
}


@pytest.mark.parametrize(("message_id", "reason"), UNMATCHED.values(), ids=UNMATCHED.keys())
def test_an_unmatched_dead_letter_is_parked_intact_with_its_reason(rabbit, dead_letter, parking, message_id, reason):
    headers = {"x-death": [{"reason": b"expired", "queue": rabbit.route.queue, "count": 1}], "x-from": "elsewhere"}
    dead_letter(message_id=message_id, body=b"\x00 a foreign body", headers=headers)

    consumer = run_once()

    [(properties, body)] = parking(1)
    assert body == b"\x00 a foreign body"
    assert properties.message_id == message_id
    assert properties.headers["x-from"] == "elsewhere"
    assert properties.headers["x-parked-reason"] == f"{reason} (dead-lettered: expired)"
    assert properties.delivery_mode == 2
    assert consumer.processed == 1
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


def test_an_unmatched_dead_letter_changes_no_outbox_row(make_row, dead_letter, parking):
    row = make_row(status=Status.PUBLISHED)
    dead_letter(message_id=str(uuid.uuid4()))

    run_once()

    row.refresh_from_db()
    assert (row.status, row.expired_reason) == (Status.PUBLISHED, "")
    assert len(parking(1)) == 1


def test_a_huge_unmatched_dead_letter_is_parked_whole(dead_letter, parking):
    body = bytes(range(256)) * (16 * 1024)  # 4 MiB, not text
    dead_letter(message_id=str(uuid.uuid4()), body=body)

    run_once()

    [(_, parked)] = parking(1)
    assert parked == body


def test_a_mixed_batch_expires_every_row_it_matches_and_parks_the_rest(rabbit, make_row, dead_letter, parking):
    rows = [make_row(status=Status.PUBLISHED) for _ in range(3)]
    dead_letter(message_id=str(rows[0].message_id), headers={"x-death": 7})
    dead_letter(message_id="not-a-uuid")
    dead_letter(message_id=str(rows[1].message_id), body=b"not json")
    dead_letter(message_id=None, headers=None)
    dead_letter(message_id=str(uuid.uuid4()))
    dead_letter(message_id=str(rows[2].message_id))

    consumer = run_once()

    assert [expired_reason(row) for row in rows] == ["unknown", "rejected", "rejected"]
    assert len(parking(3)) == 3
    assert consumer.processed == 6
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


class _HandlerBugOnTrip(DeadletterConsumer):
    """The real consumer with a bug for one body: what the base loop does with a handler error."""

    def _handle(self, delivery):
        if delivery.body == b"trip":
            raise RuntimeError("handler bug")
        return super()._handle(delivery)


def test_a_dead_letter_the_handler_fails_on_is_parked_not_dropped(rabbit, make_row, dead_letter, parking):
    row = make_row(status=Status.PUBLISHED)
    dead_letter(message_id=str(uuid.uuid4()), body=b"trip")
    dead_letter(message_id=str(row.message_id))

    run_once(_HandlerBugOnTrip)

    [(properties, body)] = parking(1)
    assert body == b"trip"
    assert "handler error" in properties.headers["x-parked-reason"]
    assert expired_reason(row) == "rejected"
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


def test_the_running_consumer_keeps_consuming_after_hostile_dead_letters(rabbit, make_row, dead_letter, parking):
    consumer = DeadletterConsumer()
    row = make_row(status=Status.PUBLISHED)
    try:
        consumer.step()
        for headers in MALFORMED_X_DEATH.values():
            dead_letter(message_id="not-a-uuid", headers=headers)
        dead_letter(message_id=str(row.message_id), body=b"x" * 1024 * 1024)
        deadline = time.monotonic() + 30
        while consumer.processed < len(MALFORMED_X_DEATH) + 1 and time.monotonic() < deadline:
            consumer.step()
    finally:
        consumer.shutdown()

    assert expired_reason(row) == "rejected"
    assert len(parking(len(MALFORMED_X_DEATH))) == len(MALFORMED_X_DEATH)
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0
