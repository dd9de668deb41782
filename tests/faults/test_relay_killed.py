"""A relay SIGKILLed in the middle of a batch leaves its rows leased; a restarted relay takes them
back when the lease runs out, so every row is still delivered."""

import pytest
from pamqp.commands import Basic

from tests.support.daemons import wait_until
from tests.support.outbox import outbox_leased_by, outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit
from tests.support.tcp_proxy import DOWNSTREAM, UPSTREAM

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

ROWS = 3000
BATCH_SIZE = 50
# from the publish of this row on the wire, the broker's answers are held (batches of 50: the 13th)
FREEZE_AT_PUBLISH = 610


def test_relay_killed_mid_batch_and_restarted_delivers_every_row(
    rabbit, relay_env, broker_proxy, broker_tap, daemons, figures
):
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    # hold the broker's answers: the batch on the wire is taken (and committed) by the broker, but
    # the relay never hears so and cannot record it; it is killed in exactly that moment
    frozen = broker_tap.freeze_after(UPSTREAM, Basic.Publish, at=FREEZE_AT_PUBLISH, hold=DOWNSTREAM)
    doomed = daemons.start(
        "producer_service",
        env=relay_env(RABBITMQ_URL=broker_proxy.via(rabbit.url), OUTBOX_BATCH_SIZE=BATCH_SIZE),
        label="doomed",
    )
    wait_until(frozen.is_set, timeout=30, watch=[doomed], message=f"publish {FREEZE_AT_PUBLISH} on the wire")
    # every batch in flight is written whole before the relay waits for its confirms
    whole_batches = -(-FREEZE_AT_PUBLISH // BATCH_SIZE) * BATCH_SIZE
    wait_until(
        lambda: broker_tap.count(UPSTREAM, Basic.Publish) >= whole_batches,
        timeout=10,
        watch=[doomed],
        message=lambda: f"{whole_batches} publishes on the wire (have {broker_tap.count(UPSTREAM, Basic.Publish)})",
    )
    wait_until(
        lambda: outbox_leased_by(route=rabbit.route, pid=doomed.pid),
        timeout=10,
        watch=[doomed],
        message="the doomed relay holding a leased batch",
    )
    doomed.kill()
    leased_at_death = outbox_leased_by(route=rabbit.route, pid=doomed.pid)
    published_at_death = outbox_published(route=rabbit.route)
    broker_proxy.thaw()
    broker_proxy.cut()

    successor = daemons.start("producer_service", env=relay_env(), label="successor")
    wait_until(
        lambda: outbox_published(route=rabbit.route) == ROWS,
        timeout=60,
        watch=[successor],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    assert successor.stop() == 0, successor.output()

    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("rows leased by the killed relay", leased_at_death)
    figures("rows published before the kill", published_at_death)
    figures("duplicates in the queue", duplicates)
    assert leased_at_death > 0, "the relay was not killed in the middle of a batch"
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"
