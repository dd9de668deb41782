import json
import threading
from datetime import timedelta
from unittest import mock

import pika
import pytest
from django.db import connection
from django.utils import timezone

from pubsub.broker import BrokerUnavailable, Publisher
from pubsub.models import QueuePublishHistory
from pubsub.producer import ProducerService
from pubsub.relay import (
    outbox_claim_batch,
    outbox_mark_failed,
    outbox_mark_published,
    outbox_release_leased_by,
    outbox_renew_lease,
    relay_batch,
    retry_delay_secs,
)

Status = QueuePublishHistory.Status
CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/%2F"

pytestmark = pytest.mark.django_db


def run_producer_once():
    ProducerService(once=True).run()


# -- publishing -----------------------------------------------------------------------------


def test_relay_marks_rows_published_once_with_no_further_attempt(rabbit, make_row):
    rows = [make_row() for _ in range(3)]

    run_producer_once()

    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.PUBLISHED
        assert row.published_at is not None
        assert row.attempts == 1
        assert row.next_attempt_at is None
        assert row.claimed_by == ""
        assert row.claimed_until is None


def test_relay_puts_every_row_in_its_queue(rabbit, make_row):
    rows = [make_row() for _ in range(5)]

    run_producer_once()

    message_ids = [properties.message_id for properties, _ in rabbit.get_all(rabbit.route.queue)]
    assert sorted(message_ids) == sorted(str(row.message_id) for row in rows)


def test_published_message_is_persistent_json_with_the_row_uuid_as_message_id(rabbit, make_row):
    row = make_row(message_type="user.created")

    run_producer_once()

    [(properties, _)] = rabbit.get_all(rabbit.route.queue)
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert properties.message_id == str(row.message_id)


def test_published_message_carries_type_timestamp_and_outbox_id(rabbit, make_row):
    row = make_row(message_type="user.created")

    run_producer_once()

    [(properties, _)] = rabbit.get_all(rabbit.route.queue)
    assert properties.type == "user.created"
    assert properties.timestamp == int(row.timestamp.timestamp())
    assert properties.headers["x-outbox-id"] == row.pk


def test_published_body_decodes_once_to_the_stored_object(rabbit, make_row):
    row = make_row(body={"user": {"username": "alice", "dob": "2001-02-03"}, "note": 'say "hi"'})

    run_producer_once()

    [(_, body)] = rabbit.get_all(rabbit.route.queue)
    assert json.loads(body) == row.message_body_json


def test_published_message_expires_after_the_rows_ttl(rabbit, make_row):
    make_row(expiration_secs=90)

    run_producer_once()

    [(properties, _)] = rabbit.get_all(rabbit.route.queue)
    assert properties.expiration == "90000"


def test_relay_declares_a_durable_exchange(rabbit, make_row):
    make_row()
    run_producer_once()

    channel = rabbit.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        channel.exchange_declare(rabbit.route.exchange, exchange_type="direct", durable=False)
    assert refused.value.reply_code == 406


def test_relay_declares_a_durable_queue_dead_lettering_to_the_dlx(rabbit, make_row):
    make_row()
    run_producer_once()

    rabbit.channel().queue_declare(
        rabbit.route.queue, durable=True, arguments={"x-dead-letter-exchange": rabbit.route.deadletter_exchange}
    )
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        rabbit.channel().queue_declare(rabbit.route.queue, durable=True)
    assert refused.value.reply_code == 406


def test_relay_declares_a_durable_dead_letter_queue_bound_to_the_dlx(rabbit, make_row):
    make_row()
    run_producer_once()
    channel = rabbit.channel()
    channel.confirm_delivery()

    channel.basic_publish(rabbit.route.deadletter_exchange, rabbit.route.queue, b"{}", mandatory=True)

    assert rabbit.message_count(rabbit.route.deadletter_queue) == 1
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        rabbit.channel().queue_declare(rabbit.route.deadletter_queue, durable=False)


def test_relay_ignores_rows_not_yet_due(rabbit, make_row):
    later = make_row(next_attempt_at=timezone.now() + timedelta(minutes=5))

    run_producer_once()

    later.refresh_from_db()
    assert later.status == Status.PENDING
    assert later.attempts == 0


def test_relay_publishes_rows_in_batches_until_none_are_due(rabbit, make_row):
    for _ in range(7):
        make_row()
    service = ProducerService(once=True, batch_size=3)

    service.run()

    assert service.processed == 7
    assert not QueuePublishHistory.objects.exclude(status=Status.PUBLISHED).exists()


# -- claiming and leases ---------------------------------------------------------------------


def test_claim_leases_rows_to_the_worker(make_row):
    row = make_row()

    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    row.refresh_from_db()
    assert claimed.pk == row.pk
    assert row.claimed_by == "w1"
    assert row.claimed_until > timezone.now() + timedelta(seconds=50)
    assert row.next_attempt_at == row.claimed_until


def test_a_row_under_lease_is_not_claimed_by_another_worker(make_row):
    make_row()
    outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    assert outbox_claim_batch(worker_id="w2", batch_size=10, lease_secs=60) == []


def test_a_row_whose_lease_ran_out_is_reclaimed_by_another_worker(make_row):
    row = make_row()
    outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)
    past = timezone.now() - timedelta(seconds=1)
    QueuePublishHistory.objects.filter(pk=row.pk).update(claimed_until=past, next_attempt_at=past)

    [reclaimed] = outbox_claim_batch(worker_id="w2", batch_size=10, lease_secs=60)

    row.refresh_from_db()
    assert reclaimed.pk == row.pk
    assert row.claimed_by == "w2"


def test_claim_takes_at_most_the_batch_size_oldest_first(make_row):
    rows = [make_row() for _ in range(5)]

    claimed = outbox_claim_batch(worker_id="w1", batch_size=2, lease_secs=60)

    assert [row.pk for row in claimed] == [rows[0].pk, rows[1].pk]


def test_mark_published_under_another_claim_than_the_rows_changes_nothing(make_row):
    row = make_row()
    outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    changed = outbox_mark_published(ids=[row.pk], claim_token="a-claim-that-lost-the-lease")

    row.refresh_from_db()
    assert changed == 0
    assert row.status == Status.PENDING
    assert row.claimed_by == "w1"
    assert row.attempts == 0


def test_mark_failed_under_another_claim_than_the_rows_changes_nothing(make_row):
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    changed = outbox_mark_failed(rows=[claimed], errors={row.pk: "boom"}, claim_token="a-claim-that-lost-the-lease")

    row.refresh_from_db()
    assert changed == 0
    assert row.status == Status.PENDING
    assert row.error_msg == ""


def test_each_claim_has_its_own_token(make_row):
    make_row(), make_row()

    [first] = outbox_claim_batch(worker_id="w1", batch_size=1, lease_secs=60)
    [second] = outbox_claim_batch(worker_id="w1", batch_size=1, lease_secs=60)

    assert first.claim_token and second.claim_token and first.claim_token != second.claim_token
    assert QueuePublishHistory.objects.get(pk=first.pk).claim_token == first.claim_token


def test_a_claim_skips_rows_of_claims_this_process_still_holds_even_when_their_lease_ran_out(make_row):
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)
    past = timezone.now() - timedelta(seconds=1)
    QueuePublishHistory.objects.filter(pk=row.pk).update(claimed_until=past, next_attempt_at=past)

    assert outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60, held_tokens=[claimed.claim_token]) == []


def test_renewing_a_lease_extends_it_for_the_rows_the_claim_holds(make_row):
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=5)

    held = outbox_renew_lease(ids=[row.pk], claim_token=claimed.claim_token, lease_secs=600)

    row.refresh_from_db()
    assert held == 1
    assert row.claimed_until > timezone.now() + timedelta(seconds=500)
    assert row.next_attempt_at == row.claimed_until


def test_renewing_a_lease_under_another_claim_changes_nothing(make_row):
    row = make_row()
    outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=5)
    before = QueuePublishHistory.objects.get(pk=row.pk).claimed_until

    held = outbox_renew_lease(ids=[row.pk], claim_token="a-claim-that-lost-the-lease", lease_secs=600)

    assert held == 0
    assert QueuePublishHistory.objects.get(pk=row.pk).claimed_until == before


def test_releasing_what_a_worker_leased_spares_the_claims_it_still_holds(make_row):
    kept, orphaned = make_row(), make_row()
    [held] = outbox_claim_batch(worker_id="w1", batch_size=1, lease_secs=60)
    outbox_claim_batch(worker_id="w1", batch_size=1, lease_secs=60)

    released = outbox_release_leased_by(worker_id="w1", except_tokens=[held.claim_token])

    kept.refresh_from_db()
    orphaned.refresh_from_db()
    assert released == 1
    assert kept.claim_token == held.claim_token
    assert orphaned.claimed_by == "" and orphaned.next_attempt_at <= timezone.now()


# -- the database's clock --------------------------------------------------------------------


def host_clock_off_by(minutes: int):
    """This host's clock `minutes` off; the database's is right."""
    wrong = timezone.now() + timedelta(minutes=minutes)
    return mock.patch("django.utils.timezone.now", return_value=wrong)


@pytest.mark.parametrize("minutes", [10, -10])
def test_a_new_row_is_due_by_the_database_clock_whatever_the_hosts(minutes, make_row):
    with host_clock_off_by(minutes):
        row = make_row()

    row.refresh_from_db()
    assert abs(row.next_attempt_at - timezone.now()) < timedelta(minutes=1)


@pytest.mark.parametrize("minutes", [10, -10])
def test_a_lease_runs_on_the_database_clock_whatever_the_hosts(minutes, make_row):
    row = make_row()

    with host_clock_off_by(minutes):
        outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    row.refresh_from_db()
    assert timezone.now() + timedelta(seconds=50) < row.claimed_until < timezone.now() + timedelta(seconds=70)


def test_a_relay_whose_clock_runs_ahead_does_not_take_a_lease_still_running(make_row):
    make_row()
    outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    with host_clock_off_by(10):
        assert outbox_claim_batch(worker_id="w2", batch_size=10, lease_secs=60) == []


def test_a_failure_backs_off_on_the_database_clock_whatever_the_hosts(settings, make_row):
    settings.OUTBOX_RETRY_BASE_SECS = 10
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    with host_clock_off_by(-10):
        outbox_mark_failed(rows=[claimed], errors={row.pk: "boom"}, claim_token=claimed.claim_token)

    row.refresh_from_db()
    assert timezone.now() + timedelta(seconds=3) < row.next_attempt_at < timezone.now() + timedelta(seconds=11)


# -- failures and backoff ----------------------------------------------------------------------


def test_failure_backs_off_counts_the_attempt_and_keeps_the_error(settings, make_row):
    settings.OUTBOX_RETRY_BASE_SECS = 10
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)
    before = timezone.now()

    outbox_mark_failed(rows=[claimed], errors={row.pk: "NOT_FOUND - no exchange"}, claim_token=claimed.claim_token)

    row.refresh_from_db()
    assert row.status == Status.ERROR
    assert row.attempts == 1
    assert row.error_msg == "NOT_FOUND - no exchange"
    assert before + timedelta(seconds=5) <= row.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert row.claimed_by == ""


def test_error_text_with_quotes_is_stored_verbatim(make_row):
    row = make_row()
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)
    error = """it's "broken"; -- ' OR 1=1 \\ %s"""

    outbox_mark_failed(rows=[claimed], errors={row.pk: error}, claim_token=claimed.claim_token)

    row.refresh_from_db()
    assert row.error_msg == error
    assert row.next_attempt_at is not None


def test_failure_at_max_attempts_waits_for_a_person(settings, make_row):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = make_row(attempts=2)
    [claimed] = outbox_claim_batch(worker_id="w1", batch_size=10, lease_secs=60)

    outbox_mark_failed(rows=[claimed], errors={row.pk: "still failing"}, claim_token=claimed.claim_token)

    row.refresh_from_db()
    assert row.status == Status.ERROR
    assert row.attempts == 3
    assert row.next_attempt_at is None


def test_retry_delay_doubles_per_attempt_up_to_the_cap(settings):
    settings.OUTBOX_RETRY_BASE_SECS = 2
    settings.OUTBOX_RETRY_MAX_SECS = 60

    assert 1 <= retry_delay_secs(attempts=1) <= 2
    assert 4 <= retry_delay_secs(attempts=3) <= 8
    assert 30 <= retry_delay_secs(attempts=20) <= 60


def test_message_the_broker_refuses_fails_alone_while_its_batch_is_published(rabbit, extra_route, make_row):
    bad_route = extra_route()
    rabbit.channel().exchange_declare(bad_route.exchange, exchange_type="fanout", durable=True)
    first, refused, last = make_row(), make_row(route=bad_route), make_row()

    run_producer_once()

    for row in (first, refused, last):
        row.refresh_from_db()
    assert (first.status, last.status) == (Status.PUBLISHED, Status.PUBLISHED)
    assert refused.status == Status.ERROR
    assert refused.attempts == 1
    assert "PRECONDITION_FAILED" in refused.error_msg
    assert refused.next_attempt_at > timezone.now()
    assert rabbit.message_count(rabbit.route.queue) == 2


def test_publisher_keeps_one_connection_across_a_refused_message(rabbit, extra_route, make_row, publisher):
    bad_route = extra_route()
    rabbit.channel().exchange_declare(bad_route.exchange, exchange_type="fanout", durable=True)
    relay = publisher()
    make_row(route=bad_route)
    relay_batch(publisher=relay, worker_id="w1")
    connection_before = relay.connection

    make_row()
    relay_batch(publisher=relay, worker_id="w1")

    assert relay.connection is connection_before
    assert relay.is_open
    assert rabbit.message_count(rabbit.route.queue) == 1


def test_publisher_keeps_more_messages_in_flight_than_its_window_allows_at_once(rabbit, make_row, publisher):
    rows = [make_row() for _ in range(25)]

    published, failed = relay_batch(publisher=publisher(window=4), worker_id="w1", batch_size=25)

    assert (published, failed) == (25, 0)
    assert rabbit.message_count(rabbit.route.queue) == len(rows)


# -- broker down -------------------------------------------------------------------------------


def test_unreachable_broker_raises_broker_unavailable(make_row, publisher):
    make_row()

    with pytest.raises(BrokerUnavailable):
        relay_batch(publisher=publisher(CLOSED_PORT_URL), worker_id="w1")


def test_unreachable_broker_releases_the_rows_without_counting_an_attempt(make_row, publisher):
    rows = [make_row() for _ in range(3)]

    with pytest.raises(BrokerUnavailable):
        relay_batch(publisher=publisher(CLOSED_PORT_URL), worker_id="w1")

    now = timezone.now()
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.PENDING
        assert row.attempts == 0
        assert row.claimed_by == ""
        assert row.next_attempt_at <= now


# -- several relays --------------------------------------------------------------------------


def test_two_relays_taking_turns_publish_each_row_once(rabbit, make_row, publisher):
    rows = [make_row() for _ in range(20)]
    relays = [(publisher(), "relay-a"), (publisher(), "relay-b")]

    while True:
        counts = [relay_batch(publisher=each, worker_id=worker_id, batch_size=3) for each, worker_id in relays]
        if counts == [(0, 0), (0, 0)]:
            break

    message_ids = [properties.message_id for properties, _ in rabbit.get_all(rabbit.route.queue)]
    assert sorted(message_ids) == sorted(str(row.message_id) for row in rows)
    assert set(QueuePublishHistory.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_relays_publish_each_row_once(rabbit, make_row):
    rows = [make_row() for _ in range(300)]
    errors = []

    def relay(worker_id):
        each = Publisher()
        try:
            while relay_batch(publisher=each, worker_id=worker_id, batch_size=10) != (0, 0):
                pass
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            each.close()
            connection.close()

    threads = [threading.Thread(target=relay, args=(f"relay-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    message_ids = [properties.message_id for properties, _ in rabbit.get_all(rabbit.route.queue)]
    assert sorted(message_ids) == sorted(str(row.message_id) for row in rows)
    assert set(QueuePublishHistory.objects.values_list("attempts", flat=True)) == {1}


def test_publisher_declares_again_an_exchange_deleted_behind_its_back(rabbit, make_row, publisher):
    relay = publisher()
    make_row()
    relay_batch(publisher=relay, worker_id="w1")
    rabbit.channel().exchange_delete(rabbit.route.exchange)

    row = make_row()
    relay_batch(publisher=relay, worker_id="w1")

    row.refresh_from_db()
    assert row.status == Status.PUBLISHED
    assert rabbit.message_count(rabbit.route.queue) == 2


def test_publisher_reconnects_after_its_connection_closed(rabbit, make_row, publisher, wait_until):
    relay = publisher()
    make_row()
    relay_batch(publisher=relay, worker_id="w1")
    # closed on its own I/O thread, the only one that may touch it
    relay.connection.ioloop.add_callback_threadsafe(relay.connection.close)
    wait_until(lambda: not relay.is_open)

    row = make_row()
    relay_batch(publisher=relay, worker_id="w1")

    row.refresh_from_db()
    assert row.status == Status.PUBLISHED


def test_a_message_no_queue_takes_is_an_error_not_published(rabbit, make_row, publisher):
    # the queue is deleted behind the back of a relay that declared it already
    pub = publisher()
    first = make_row()
    relay_batch(publisher=pub, worker_id="w1")
    rabbit.channel().queue_delete(rabbit.route.queue)
    lost = make_row()
    relay_batch(publisher=pub, worker_id="w1")
    lost.refresh_from_db()
    assert lost.status == QueuePublishHistory.Status.ERROR
    assert "unroutable" in lost.error_msg
    first.refresh_from_db()
    assert first.status == QueuePublishHistory.Status.PUBLISHED


def test_an_unroutable_message_is_published_once_the_topology_is_declared_again(rabbit, make_row, publisher):
    pub = publisher()
    make_row()
    relay_batch(publisher=pub, worker_id="w1")
    rabbit.channel().queue_delete(rabbit.route.queue)
    lost = make_row()
    relay_batch(publisher=pub, worker_id="w1")
    QueuePublishHistory.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now())
    relay_batch(publisher=pub, worker_id="w1")
    lost.refresh_from_db()
    assert lost.status == QueuePublishHistory.Status.PUBLISHED
    assert rabbit.message_count(rabbit.route.queue) == 1
