"""user_sync_consumer whose broker connection is cut again and again between applying a batch and
the broker hearing its ack: the batch comes back, already applied; B's inbox absorbs it, so the
effect is exactly once. The cuts are made at the consumer's acks on the wire (the ack never reaches
the broker), so every cut lands in that window whatever the machine's speed."""

import pytest
from pamqp.commands import Basic

from tests.support.daemons import run_command, wait_until
from tests.support.tcp_proxy import UPSTREAM
from tests.support.user_sync import assert_applied_exactly_once, inbox_count, users_created_and_updated

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

USERS = 200
PREFETCH = 10
# every third ack: 400 messages in batches of at most PREFETCH are at least 40 acks, and between
# two cuts the consumer acks a redelivered batch and makes progress
CUT_AT_ACKS = range(1, 36, 3)


def test_consumer_cut_repeatedly_applies_each_message_exactly_once(
    deployment_a, deployment_b, rabbit, broker_proxy, broker_tap, daemons, figures
):
    users, message_ids = users_created_and_updated(deployment=deployment_a, route=rabbit.route, count=USERS)
    all_cut = broker_tap.cut_before(UPSTREAM, Basic.Ack, at=CUT_AT_ACKS)
    consumer = daemons.start(
        "user_sync_consumer",
        env=deployment_b.env(RABBITMQ_URL=broker_proxy.via(rabbit.url), USER_SYNC_PREFETCH=PREFETCH),
    )

    def applied() -> int:
        return inbox_count(deployment_b, source=deployment_a.name)

    wait_until(
        lambda: all_cut.is_set() and applied() == len(message_ids),
        timeout=120,
        watch=[consumer],
        message=lambda: (
            f"{len(CUT_AT_ACKS)} cuts (have {broker_proxy.cuts}) and {len(message_ids)} messages in B's inbox "
            f"(have {applied()})"
        ),
    )
    assert consumer.stop() == 0, consumer.output()
    run_command("user_sync_consumer", "--once", env=deployment_b.env())

    figures("consumer connection cuts", broker_proxy.cuts)
    figures("deliveries through the proxy", broker_tap.total)
    figures("messages delivered more than once", broker_tap.delivered_more_than_once)
    figures("redeliveries (those already applied were absorbed by the inbox)", broker_tap.extra_deliveries)
    assert broker_proxy.cuts == len(CUT_AT_ACKS)
    assert "broker unavailable" in consumer.output()
    # each cut dropped an ack of at least one applied message, which the broker delivered again
    assert broker_tap.extra_deliveries >= len(CUT_AT_ACKS)
    assert_applied_exactly_once(deployment_b, source=deployment_a.name, users=users, message_ids=message_ids)
