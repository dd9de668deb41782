import uuid
from datetime import timedelta

import pika
import pytest
from django.utils import timezone

from pubsub.conf import Route
from pubsub.deadletter import DeadletterConsumer, outbox_deadletter_queues, outbox_mark_deadlettered
from pubsub.models import QueuePublishHistory
from pubsub.producer import ProducerService

Status = QueuePublishHistory.Status

pytestmark = pytest.mark.django_db


def reject_everything_in(rabbit, queue):
    channel = rabbit.channel()
    while True:
        method, _, _ = channel.basic_get(queue)
        if method is None:
            return
        channel.basic_reject(method.delivery_tag, requeue=False)


def publish_dead_letter(rabbit, *, message_id, reason=b"rejected"):
    channel = rabbit.channel()
    channel.confirm_delivery()
    rabbit.declare()
    headers = {"x-death": [{"reason": reason, "queue": rabbit.route.queue, "count": 1}]}
    channel.basic_publish(
        rabbit.route.deadletter_exchange,
        rabbit.route.queue,
        b"{}",
        pika.BasicProperties(message_id=message_id, headers=headers),
    )


def test_message_whose_ttl_runs_out_is_marked_expired(rabbit, make_row, wait_until):
    row = make_row(expiration_secs=1)
    ProducerService(once=True).run()
    wait_until(lambda: rabbit.message_count(rabbit.route.deadletter_queue) == 1)

    DeadletterConsumer(once=True).run()

    row.refresh_from_db()
    assert row.status == Status.EXPIRED
    assert row.expired_reason == "expired"


def test_ttl_expiry_is_due_again_within_the_retry_bound(settings, rabbit, make_row, wait_until):
    settings.OUTBOX_RETRY_MAX_SECS = 120
    row = make_row(expiration_secs=1)
    ProducerService(once=True).run()
    wait_until(lambda: rabbit.message_count(rabbit.route.deadletter_queue) == 1)

    DeadletterConsumer(once=True).run()

    row.refresh_from_db()
    assert timezone.now() < row.next_attempt_at <= timezone.now() + timedelta(seconds=120)


def test_message_a_consumer_rejects_is_marked_expired_for_good(rabbit, make_row, wait_until):
    row = make_row()
    ProducerService(once=True).run()
    reject_everything_in(rabbit, rabbit.route.queue)
    wait_until(lambda: rabbit.message_count(rabbit.route.deadletter_queue) == 1)

    DeadletterConsumer(once=True).run()

    row.refresh_from_db()
    assert row.status == Status.EXPIRED
    assert row.expired_reason == "rejected"
    assert row.next_attempt_at is None


def test_deadletter_consumer_empties_the_dead_letter_queue(rabbit, make_row, wait_until):
    make_row()
    make_row()
    ProducerService(once=True).run()
    reject_everything_in(rabbit, rabbit.route.queue)
    wait_until(lambda: rabbit.message_count(rabbit.route.deadletter_queue) == 2)
    consumer = DeadletterConsumer(once=True)

    consumer.run()

    assert consumer.processed == 2
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


def test_expired_message_is_republished_when_due_again(rabbit, make_row):
    row = make_row(status=Status.EXPIRED, expired_reason="expired", attempts=1)

    ProducerService(once=True).run()

    row.refresh_from_db()
    assert row.status == Status.PUBLISHED
    assert row.expired_reason == ""
    assert row.attempts == 2
    assert rabbit.message_count(rabbit.route.queue) == 1


def test_ttl_expiry_after_the_last_attempt_waits_for_a_person(settings, make_row):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = make_row(status=Status.PUBLISHED, attempts=3, next_attempt_at=None)

    outbox_mark_deadlettered(message_id=row.message_id, reason="expired")

    row.refresh_from_db()
    assert row.status == Status.EXPIRED
    assert row.next_attempt_at is None


def test_dead_letter_with_an_unknown_message_id_is_acked_and_changes_nothing(rabbit, make_row):
    row = make_row(status=Status.PUBLISHED, attempts=1, next_attempt_at=None)
    publish_dead_letter(rabbit, message_id=str(uuid.uuid4()))
    consumer = DeadletterConsumer(once=True)

    consumer.run()

    row.refresh_from_db()
    assert consumer.processed == 1
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0
    assert row.status == Status.PUBLISHED
    assert row.expired_reason == ""


def test_dead_letter_without_a_uuid_message_id_is_acked(rabbit):
    publish_dead_letter(rabbit, message_id="not-a-uuid")
    consumer = DeadletterConsumer(once=True)

    consumer.run()

    assert consumer.processed == 1
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


def test_deadletter_consumer_listens_to_the_dead_letter_queues_in_the_outbox(make_row):
    route = Route.for_queue("elsewhere_q", "elsewhere_x")
    make_row(route=route)

    assert route.deadletter_queue in outbox_deadletter_queues()


def test_deadletter_consumer_picks_up_a_route_added_after_it_started(
    settings, rabbit, extra_route, make_row, wait_until
):
    settings.DEADLETTER_REFRESH_SECS = 0
    consumer = DeadletterConsumer()
    consumer.step()
    new_route = extra_route()
    row = make_row(route=new_route)
    ProducerService(once=True).run()
    reject_everything_in(rabbit, new_route.queue)

    try:

        def handled():
            consumer.step()
            row.refresh_from_db()
            return row.status == Status.EXPIRED

        wait_until(handled)
    finally:
        consumer.shutdown()

    assert row.expired_reason == "rejected"
