"""producer_service survives its database connection being torn down, and the database refusing
connections for a while: it logs, backs off, reconnects and finishes the outbox."""

import time

import pytest

from tests.support.daemons import wait_until
from tests.support.outbox import outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 3000
CUT_AFTER_PUBLISHED = (400, 1500)
REFUSE_SECS = 1.5


def test_relay_reconnects_to_the_database_after_a_cut_and_finishes(
    deployment_a, rabbit, relay_env, database_proxy, daemons, figures
):
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    relay = daemons.start(
        "producer_service", env=relay_env(DATABASE_URL=database_proxy.via(deployment_a.database_url))
    )

    for threshold in CUT_AFTER_PUBLISHED:
        wait_until(
            lambda: outbox_published(route=rabbit.route) >= threshold,
            timeout=30, interval=0.005, watch=[relay], message=f"{threshold} rows published",
        )
        database_proxy.pause()
        database_proxy.cut()
        time.sleep(REFUSE_SECS)
        database_proxy.resume()
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=60, watch=[relay],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    assert relay.stop() == 0, relay.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("database connection cuts", database_proxy.cuts)
    figures("database connections made", database_proxy.connections_accepted)
    figures("duplicates in the queue", duplicates)
    assert "database unavailable" in relay.output()
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"
