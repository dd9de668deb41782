"""producer_service keeps going when its broker connection is torn down in the middle of a batch.
The cuts are made at chosen publishes on the wire, so each one lands inside a batch (published in
part, its confirms outstanding) whatever the machine's speed."""

import pytest
from pamqp.commands import Basic

from tests.support.daemons import wait_until
from tests.support.outbox import outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit
from tests.support.tcp_proxy import UPSTREAM

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 3000
# the n-th basic.publish on the wire never reaches the broker: its connection is cut just before
# it; batches are 50 rows, so each of these is in the middle of one
CUT_AT_PUBLISHES = (325, 1025, 1825)


def test_relay_delivers_every_row_when_the_broker_connection_is_cut_mid_batch(
    rabbit, relay_env, broker_proxy, broker_tap, daemons, figures
):
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    all_cut = broker_tap.cut_before(UPSTREAM, Basic.Publish, at=CUT_AT_PUBLISHES)
    # production leases: a batch the broker connection dropped must be due again at once, not
    # after its lease, so this only finishes in time if the relay hands such batches back
    relay = daemons.start(
        "producer_service", env=relay_env(RABBITMQ_URL=broker_proxy.via(rabbit.url), OUTBOX_LEASE_SECS=60)
    )
    wait_until(
        all_cut.is_set,
        timeout=60,
        watch=[relay],
        message=lambda: f"{len(CUT_AT_PUBLISHES)} cuts (have {broker_proxy.cuts})",
    )
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=30,
        watch=[relay],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    assert relay.stop() == 0, relay.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("broker connection cuts", broker_proxy.cuts)
    figures("duplicates in the queue", duplicates)
    assert broker_proxy.cuts == len(CUT_AT_PUBLISHES)
    assert "connection lost while publishing" in relay.output()
    assert not missing, f"{len(missing)} of {ROWS} published rows never reached the queue"
