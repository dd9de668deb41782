import io
import os
import socket
import threading
import time

import pytest
from django.core.management import call_command

from pubsub.broker import BrokerUnavailable
from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.producer import ProducerService
from pubsub.relay import outbox_claim_batch

Status = QueuePublishHistory.Status
CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/%2F"

pytestmark = pytest.mark.django_db


def test_once_run_leaves_a_heartbeat_with_name_pid_and_processed_count(rabbit, make_row):
    for _ in range(3):
        make_row()

    ProducerService(once=True).run()

    beat = WorkerHeartbeat.objects.get(name="producer_service")
    assert beat.pid == os.getpid()
    assert beat.host == socket.gethostname()
    assert beat.processed == 3
    assert beat.failed == 0
    assert beat.state == "stopped"


def test_heartbeat_counts_failed_messages(rabbit, extra_route, make_row):
    bad_route = extra_route()
    rabbit.channel().exchange_declare(bad_route.exchange, exchange_type="fanout", durable=True)
    make_row(route=bad_route)

    ProducerService(once=True).run()

    assert WorkerHeartbeat.objects.get(name="producer_service").failed == 1


def test_repeated_runs_in_one_process_keep_one_heartbeat_row(rabbit):
    ProducerService(once=True).run()
    ProducerService(once=True).run()

    assert WorkerHeartbeat.objects.filter(name="producer_service").count() == 1


def test_producer_service_command_once_publishes_what_is_due(rabbit, make_row):
    row = make_row()

    call_command("producer_service", "--once", stdout=io.StringIO())

    row.refresh_from_db()
    assert row.status == Status.PUBLISHED


def test_once_run_with_the_broker_down_raises_and_leaves_rows_due(make_row):
    row = make_row()

    with pytest.raises(BrokerUnavailable):
        ProducerService(once=True, url=CLOSED_PORT_URL).run()

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.claimed_by == ""
    assert row.attempts == 0


def test_stop_from_another_thread_ends_the_loop_with_nothing_leased(rabbit, make_row):
    for _ in range(5):
        make_row()
    service = ProducerService()
    stopper = threading.Timer(0.5, service.stop)
    stopper.start()
    started = time.monotonic()

    service.run()

    stopper.join()
    assert time.monotonic() - started < 5
    assert not QueuePublishHistory.objects.exclude(claimed_by="").exists()
    assert QueuePublishHistory.objects.filter(status=Status.PUBLISHED).count() == service.processed


def test_shutdown_releases_rows_this_worker_still_holds(make_row):
    row = make_row()
    service = ProducerService(url=CLOSED_PORT_URL)
    outbox_claim_batch(worker_id=service.worker_id, batch_size=10, lease_secs=60)

    service.shutdown()

    row.refresh_from_db()
    assert row.claimed_by == ""
    assert row.claimed_until is None
    assert row.attempts == 0


def test_shutdown_leaves_other_workers_leases_alone(make_row):
    row = make_row()
    service = ProducerService(url=CLOSED_PORT_URL)
    outbox_claim_batch(worker_id="someone-else", batch_size=10, lease_secs=60)

    service.shutdown()

    row.refresh_from_db()
    assert row.claimed_by == "someone-else"


def test_broker_loss_while_a_batch_is_in_flight_leaves_no_row_leased(make_row):
    rows = [make_row() for _ in range(4)]
    service = ProducerService(batch_size=2, url=CLOSED_PORT_URL)
    try:
        # batches go in flight until the relay waits for one and learns the broker is gone
        with pytest.raises(BrokerUnavailable):
            for _ in range(len(rows) + 1):
                service.step()
    finally:
        service.on_connection_lost("broker")

    for row in rows:
        row.refresh_from_db()
        assert row.claimed_by == ""
        assert row.attempts == 0
    service.shutdown()
