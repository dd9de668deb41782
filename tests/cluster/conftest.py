"""A real three-node RabbitMQ cluster, started once per test run (per xdist worker: every test here
is `serial`, so one worker runs them all) and torn down after; quorum queues; two deployments
whose daemons are given the three nodes in RABBITMQ_URL."""

import uuid

import pytest

from pubsub.conf import Route
from tests.support.daemons import DaemonSupervisor
from tests.support.rabbit_cluster import RabbitCluster, rabbitmq_available
from tests.support.services import service_missing


@pytest.fixture(scope="session")
def rabbit_cluster():
    if not rabbitmq_available():
        service_missing("needs rabbitmq-server and rabbitmqctl installed, and a rabbitmq user")
    cluster = RabbitCluster(size=3)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(rabbit_cluster):
    """The cluster, with every node running again after the test (a test may kill one)."""
    yield rabbit_cluster
    for node in rabbit_cluster.nodes:
        if node.process is None:
            rabbit_cluster.restart(node)


@pytest.fixture
def cluster_route(cluster, settings) -> Route:
    """This test's own exchange and queue on the cluster, as quorum queues; this process (the
    test, /readyz, the admin) is given the three nodes too."""
    suffix = uuid.uuid4().hex[:10]
    route = Route.for_queue(f"cluster_q_{suffix}", f"cluster_x_{suffix}")
    settings.RABBITMQ_URL = cluster.url
    settings.RABBITMQ_QUEUE_TYPE = "quorum"
    settings.USER_SYNC_EXCHANGE = route.exchange
    settings.USER_SYNC_QUEUES = [route.queue]
    settings.USER_SYNC_CONSUME_QUEUES = [route.queue]
    settings.READINESS_CACHE_SECS = 0
    return route


@pytest.fixture
def sync_route_env(cluster, cluster_route) -> dict:
    """The daemons' environment: the cluster's three nodes, quorum queues, the test's route."""
    return {
        "RABBITMQ_URL": cluster.url,
        "RABBITMQ_QUEUE_TYPE": "quorum",
        "USER_SYNC_EXCHANGE": cluster_route.exchange,
        "USER_SYNC_QUEUES": cluster_route.queue,
        "USER_SYNC_CONSUME_QUEUES": cluster_route.queue,
        "WORKER_HEARTBEAT_SECS": "1",
    }


@pytest.fixture
def daemons(tmp_path, transactional_db, cluster):
    supervisor = DaemonSupervisor(tmp_path / "daemons")
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
