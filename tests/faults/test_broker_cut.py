"""producer_service keeps going when its broker connection is torn down in the middle of a batch."""

import pytest

from tests.support.daemons import wait_until
from tests.support.outbox import outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 3000
CUT_AFTER_PUBLISHED = (300, 1000, 1800)


def test_relay_delivers_every_row_when_the_broker_connection_is_cut_mid_batch(
    rabbit, relay_env, broker_proxy, daemons, figures
):
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    # production leases: a batch the broker connection dropped must be due again at once, not
    # after its lease, so this only finishes in time if the relay hands such batches back
    relay = daemons.start(
        "producer_service", env=relay_env(RABBITMQ_URL=broker_proxy.via(rabbit.url), OUTBOX_LEASE_SECS=60)
    )

    for threshold in CUT_AFTER_PUBLISHED:
        wait_until(
            lambda: outbox_published(route=rabbit.route) >= threshold,
            timeout=30, interval=0.005, message=f"{threshold} rows published", watch=[relay],
        )
        broker_proxy.wait_for_connections(1, timeout=30)
        broker_proxy.cut()
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=30, watch=[relay],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    assert relay.stop() == 0, relay.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("broker connection cuts", broker_proxy.cuts)
    figures("duplicates in the queue", duplicates)
    assert "connection lost while publishing" in relay.output()
    assert not missing, f"{len(missing)} of {ROWS} published rows never reached the queue"
