"""user_sync_consumer whose broker connection is cut again and again: deliveries come back after
each cut, some of them already applied; B's inbox absorbs them, so the effect is exactly once."""

import random
import time

import pytest

from tests.support.daemons import run_command, wait_until
from tests.support.user_sync import assert_applied_exactly_once, inbox_count, users_created_and_updated

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

USERS = 200
CUTS = 12


def test_consumer_cut_repeatedly_applies_each_message_exactly_once(
    deployment_a, deployment_b, rabbit, broker_proxy, broker_tap, daemons, figures
):
    users, message_ids = users_created_and_updated(deployment=deployment_a, route=rabbit.route, count=USERS)
    # small prefetch: many batches, so the cuts fall between apply and ack over and over
    consumer = daemons.start(
        "user_sync_consumer",
        env=deployment_b.env(RABBITMQ_URL=broker_proxy.via(rabbit.url), USER_SYNC_PREFETCH=10),
    )

    def applied() -> int:
        return inbox_count(deployment_b, source=deployment_a.name)

    rng = random.Random(USERS)
    deadline = time.monotonic() + 60
    while broker_proxy.cuts < CUTS and applied() < len(message_ids):
        assert time.monotonic() < deadline, "the consumer made no progress between cuts"
        broker_proxy.wait_for_connections(1, timeout=30)
        time.sleep(rng.uniform(0.05, 0.3))
        broker_proxy.cut()
    wait_until(
        lambda: applied() == len(message_ids), timeout=60, watch=[consumer],
        message=lambda: f"{len(message_ids)} messages in B's inbox (have {applied()})",
    )
    assert consumer.stop() == 0, consumer.output()
    run_command("user_sync_consumer", "--once", env=deployment_b.env())

    figures("consumer connection cuts", broker_proxy.cuts)
    figures("deliveries through the proxy", broker_tap.total)
    figures("messages delivered more than once", broker_tap.delivered_more_than_once)
    figures("redeliveries (those already applied were absorbed by the inbox)", broker_tap.extra_deliveries)
    assert "broker unavailable" in consumer.output()
    assert broker_tap.delivered_more_than_once, "no cut caught a delivery in flight: nothing was tested"
    assert_applied_exactly_once(deployment_b, source=deployment_a.name, users=users, message_ids=message_ids)
