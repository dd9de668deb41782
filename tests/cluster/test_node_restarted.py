"""A node stopped while the daemons idle: /readyz and the dashboard name it while it is down, the
daemons move to the nodes left and keep syncing, and the node rejoins when started again."""

import time

import pytest

from pubsub.broker import connect, declare_route
from tests.support.daemons import first_log_line_after, wait_until
from tests.support.user_sync import inbox_count, outbox_seed_user_creations
from users.tests.factories import SuperuserFactory

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.cluster,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
]

BATCH = 10


def readiness(client) -> dict:
    return client.get("/readyz").json()


def test_a_node_stopped_while_idle_is_reported_and_the_daemons_carry_on(
    cluster, cluster_route, deployment_a, deployment_b, daemons, client, figures
):
    connection = connect()
    declare_route(connection.channel(), cluster_route)
    connection.close()
    source = deployment_a.name
    relay = daemons.start("producer_service", env=deployment_a.env(), label="relay")
    consumer = daemons.start("user_sync_consumer", env=deployment_b.env(), label="consumer")
    watch = [relay, consumer]

    def applied(count):
        wait_until(
            lambda: inbox_count(deployment_b, source=source) == count,
            timeout=120,
            interval=0.1,
            watch=watch,
            message=lambda: f"{count} messages applied in B ({inbox_count(deployment_b, source=source)})",
        )

    # the admin user is a user of A too: its creation is synced like the others
    client.force_login(SuperuserFactory())
    outbox_seed_user_creations(route=cluster_route, count=BATCH, first=1)
    applied(1 + BATCH)
    assert readiness(client)["status"] == "ok"

    # the first node of RABBITMQ_URL: both daemons are connected to it
    node = cluster.nodes[0]
    stopping_at = cluster.stop_node(node)
    stopped_at = time.monotonic()

    body = readiness(client)
    assert body["status"] == "degraded", body
    assert body["checks"][f"node {node.address}"].startswith("down ("), body
    assert {name for name, state in body["checks"].items() if name.startswith("node ") and state == "ok"} == {
        f"node {other.address}" for other in cluster.nodes[1:]
    }
    page = client.get("/admin/").content.decode()
    assert f'data-node="{node.address}"><span class="badge bg-danger">down</span>' in page

    outbox_seed_user_creations(route=cluster_route, count=BATCH, first=BATCH + 1)
    applied(1 + 2 * BATCH)
    synced_while_down_in = time.monotonic() - stopped_at
    # each connected again by itself, to one of the nodes left (each logs the node it connects to)
    for daemon, text in ((relay, "publishing through RabbitMQ node"), (consumer, "connected to RabbitMQ node")):
        assert first_log_line_after(daemon.output(), text, stopping_at), f"{daemon.command} did not reconnect"

    cluster.restart(node)
    wait_until(lambda: readiness(client)["status"] == "ok", timeout=60, message=lambda: readiness(client))
    outbox_seed_user_creations(route=cluster_route, count=BATCH, first=2 * BATCH + 1)
    applied(1 + 3 * BATCH)
    figures("s from the node's stop to messages sent then applied in B", round(synced_while_down_in, 2))
