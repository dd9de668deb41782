"""producer_service survives its database connection being torn down, and the database refusing
connections for a while: it logs, backs off, reconnects and finishes the outbox. Each cut is made
at a chosen claim on the wire, so it lands while the outbox still has work whatever the speed."""

import pytest

from tests.support.daemons import wait_until
from tests.support.deployments import MYSQL_SKIP_LOCKED
from tests.support.outbox import outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit
from tests.support.tcp_proxy import UPSTREAM

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 3000
# claims of 50 rows: the 9th after 400 rows, then 22 claims later after about 1,500
CUT_AT_CLAIMS = (9, 22)
REFUSE_SECS = 1.5


def test_relay_reconnects_to_the_database_after_a_cut_and_finishes(
    deployment_a, rabbit, relay_env, database_proxy, daemons, figures
):
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    fired = database_proxy.cut_after(UPSTREAM, MYSQL_SKIP_LOCKED, nth=CUT_AT_CLAIMS[0], refuse_secs=REFUSE_SECS)
    relay = daemons.start("producer_service", env=relay_env(DATABASE_URL=database_proxy.via(deployment_a.database_url)))
    for claims_later in (*CUT_AT_CLAIMS[1:], None):
        wait_until(fired.is_set, timeout=30, watch=[relay], message="a claim cut at the database")
        if claims_later:
            # armed while connections are still refused: the count starts at the next claim
            fired = database_proxy.cut_after(UPSTREAM, MYSQL_SKIP_LOCKED, nth=claims_later, refuse_secs=REFUSE_SECS)
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=60,
        watch=[relay],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    assert relay.stop() == 0, relay.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("database connection cuts", database_proxy.cuts)
    figures("database connections made", database_proxy.connections_accepted)
    figures("duplicates in the queue", duplicates)
    assert database_proxy.cuts == len(CUT_AT_CLAIMS)
    assert "database unavailable" in relay.output()
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"
