"""Two relays on one outbox: SKIP LOCKED leases split the rows between them, each row published once."""

import re

import pytest

from pubsub.models import WorkerHeartbeat
from tests.support.daemons import wait_until
from tests.support.outbox import outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 5000


def published_by(output: str) -> int:
    return int(re.search(r"producer_service: published (\d+), failed 0", output).group(1))


def test_two_relays_at_once_publish_every_row_once(rabbit, relay_env, daemons, figures):
    # leases long enough that only SKIP LOCKED keeps the relays apart, never a lease running out
    relays = [daemons.start("producer_service", env=relay_env(OUTBOX_LEASE_SECS=60), label=f"relay{n}") for n in (1, 2)]
    # both idle-polling before there is work, so both get a share of it
    wait_until(
        lambda: (
            WorkerHeartbeat.objects.filter(
                name="producer_service", pid__in=[relay.pid for relay in relays], state="running"
            ).count()
            == 2
        ),
        timeout=30,
        watch=relays,
        message="both relays running",
    )
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=60,
        watch=relays,
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    for relay in relays:
        assert relay.stop() == 0, relay.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    shares = [published_by(relay.output()) for relay in relays]
    figures("rows published by each relay", shares)
    figures("duplicates in the queue", duplicates)
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"
    assert sum(shares) == ROWS
    assert all(shares), "one relay did all the work: nothing ran concurrently"
    assert duplicates == 0
