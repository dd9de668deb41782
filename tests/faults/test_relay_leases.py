"""Leases are for relays that died. A relay that is alive and merely lost its database connection
for a moment must not leave rows waiting for their lease (60 s in production) to run out."""

import time

import pytest

from tests.support.daemons import wait_until
from tests.support.deployments import MYSQL_COMMIT
from tests.support.outbox import outbox_leased_by, outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit
from tests.support.tcp_proxy import UPSTREAM

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

ROWS = 3000
# the relay's only COMMITs are its claims' (its other writes autocommit): the 9th claim, after 400
# rows in batches of 50, is cut, armed before the relay starts so it lands whatever the speed
CUT_AT_COMMIT = 9
PRODUCTION_LEASE_SECS = 60
# a reconnect takes well under a second after a short outage; a lease wait takes a minute
RESUME_WITHIN_SECS = 30


def test_relay_resumes_promptly_when_its_connection_drops_as_a_claim_commits(
    deployment_a, rabbit, relay_env, database_proxy, daemons, figures
):
    """The claim's COMMIT reaches MariaDB and takes effect, but the answer never reaches the relay:
    it gets "Lost connection" and does not know it holds the batch; it is the only one that could."""
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    fired = database_proxy.cut_after(UPSTREAM, MYSQL_COMMIT, nth=CUT_AT_COMMIT)
    relay = daemons.start(
        "producer_service",
        env=relay_env(
            DATABASE_URL=database_proxy.via(deployment_a.database_url), OUTBOX_LEASE_SECS=PRODUCTION_LEASE_SECS
        ),
    )
    wait_until(fired.is_set, timeout=30, watch=[relay], message="the relay's claim cut as it commits")
    cut_at = time.monotonic()
    try:
        wait_until(
            lambda: outbox_published(route=rabbit.route) == ROWS,
            timeout=RESUME_WITHIN_SECS,
            watch=[relay],
            message=lambda: (
                f"every row published within {RESUME_WITHIN_SECS}s of the cut (the lease is "
                f"{PRODUCTION_LEASE_SECS} s): {outbox_progress(route=rabbit.route)}, of which leased to "
                f"the live relay: {outbox_leased_by(route=rabbit.route, pid=relay.pid)}"
            ),
        )
    finally:
        figures("seconds from the cut until every row was published", round(time.monotonic() - cut_at, 1))
    assert relay.stop() == 0, relay.output()
    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("duplicates in the queue", duplicates)
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"
