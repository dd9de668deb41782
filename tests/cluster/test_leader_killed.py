"""The node that leads the sync queue is SIGKILLed while the relay drains 20,000 outbox rows and
the consumer applies them: nothing is lost, nothing is applied twice, and both daemons carry on
by themselves on the two nodes left."""

import re
import time
import uuid

import pytest

from pubsub.broker import connect, declare_route
from pubsub.models import QueuePublishHistory
from tests.support.daemons import first_log_line_after, wait_until
from tests.support.outbox import outbox_progress, outbox_published
from tests.support.user_sync import inbox_count, outbox_seed_user_creations

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.cluster,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
]

ROWS = 20_000


def test_leader_of_the_sync_queue_killed_mid_drain_loses_nothing_and_applies_once(
    cluster, cluster_route, deployment_a, deployment_b, daemons, figures
):
    connection = connect()
    declare_route(connection.channel(), cluster_route)
    connection.close()
    expected = outbox_seed_user_creations(route=cluster_route, count=ROWS)
    source = deployment_a.name
    started = time.monotonic()
    relay = daemons.start("producer_service", env=deployment_a.env(OUTBOX_LEASE_SECS=10), label="relay")
    consumer = daemons.start("user_sync_consumer", env=deployment_b.env(), label="consumer")
    watch = [relay, consumer]

    # the relay is faster than the consumer: half way for the relay, under way for the consumer
    wait_until(
        lambda: outbox_published(route=cluster_route) >= ROWS // 2,
        timeout=600,
        interval=0.05,
        watch=watch,
        message=lambda: f"half the rows published ({outbox_progress(route=cluster_route)})",
    )
    leader = cluster.leader(cluster_route.queue)
    published_at_kill = outbox_published(route=cluster_route)
    applied_at_kill = inbox_count(deployment_b, source=source)
    killed_wall = cluster.kill(leader)

    wait_until(
        lambda: outbox_published(route=cluster_route) == ROWS,
        timeout=600,
        interval=0.5,
        watch=watch,
        message=lambda: f"every row published ({outbox_progress(route=cluster_route)})",
    )
    wait_until(
        lambda: inbox_count(deployment_b, source=source) == ROWS,
        timeout=600,
        interval=0.5,
        watch=watch,
        message=lambda: f"every message applied in B ({inbox_count(deployment_b, source=source)} of {ROWS})",
    )
    drained_in = time.monotonic() - started
    # both were on the killed node (the first of RABBITMQ_URL) and moved to another
    for daemon in watch:
        assert "broker unavailable" in daemon.output(), f"{daemon.command} never lost its node"
    assert consumer.stop() == 0, consumer.output()[-5000:]
    assert relay.stop() == 0, relay.output()[-5000:]

    inbox = deployment_b.query("SELECT message_id, outcome FROM users_usersyncinbox WHERE source = %s", [source])
    applied_ids = {str(uuid.UUID(row["message_id"])) for row in inbox}
    assert applied_ids == expected
    assert {row["outcome"] for row in inbox} == {"applied"}
    assert deployment_b.scalar("SELECT COUNT(*) FROM users_synceduserlink WHERE source = %s", [source]) == ROWS
    assert deployment_b.scalar("SELECT COUNT(*) FROM users_user WHERE username LIKE %s", [f"{source}-c%"]) == ROWS
    assert set(QueuePublishHistory.objects.values_list("status", flat=True).distinct()) == {"published"}
    # resumed: connected to another node (each daemon logs the node it connects to, and carries on
    # from there at once: the counts the test polls move on within its polling interval). Counts
    # alone would not tell: confirms and commits of the moment before the kill land after it
    relay_reconnected = first_log_line_after(relay.output(), "publishing through RabbitMQ node", killed_wall)
    consumer_reconnected = first_log_line_after(consumer.output(), "connected to RabbitMQ node", killed_wall)
    assert relay_reconnected and consumer_reconnected
    absorbed = sum(int(n) for n in re.findall(r"(\d+) message\(s\) already applied here", consumer.output()))
    figures("killed node (leader of the sync queue)", leader.name)
    figures("rows published when the node was killed", published_at_kill)
    figures("messages applied in B when the node was killed", applied_at_kill)
    figures("relay reconnected to another node (s after the kill)", (relay_reconnected - killed_wall).total_seconds())
    figures("consumer reconnected (s after the kill)", (consumer_reconnected - killed_wall).total_seconds())
    figures("redeliveries absorbed by B's inbox", absorbed)
    figures("messages lost", len(expected - applied_ids))
    figures(f"{ROWS} rows drained and applied in (s)", round(drained_in, 1))
