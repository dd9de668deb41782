"""Two deployments on one MariaDB server and one RabbitMQ, the daemons as real processes, and TCP
proxies to break the connections between them.

Deployment A is the pytest test database: the test drives it in-process (API, ORM) and its daemons
see what the test commits (`django_db(transaction=True)`). Deployment B is a database of its own,
migrated once per session; the test only reads it, its daemons change it.
"""

import uuid

import pytest

from tests.support.amqp_tap import AmqpTap
from tests.support.daemons import DaemonSupervisor, run_command
from tests.support.deployments import Deployment, MySQLServer
from tests.support.services import service_missing
from tests.support.tcp_proxy import TcpProxy

_FIGURES: list[tuple[str, str, object]] = []


@pytest.fixture(scope="session")
def mysql_server(django_db_setup) -> MySQLServer:
    """The MariaDB server of the test database (deployment A), where B's database goes too."""
    from django.db import connection

    if connection.vendor != "mysql":
        service_missing("two deployments need MariaDB/MySQL")
    return MySQLServer.from_settings_dict(connection.settings_dict)


@pytest.fixture(scope="session")
def deployment_b_database(mysql_server):
    """A second, migrated database on the same server: deployment B's."""
    name = f"test_opsconsole_b_{uuid.uuid4().hex[:8]}"
    mysql_server.create_database(name)
    try:
        run_command("migrate", "--noinput", env=Deployment("b", mysql_server, name).env(), timeout=300)
        yield name
    finally:
        mysql_server.drop_database(name)


@pytest.fixture
def sync_route_env(rabbit, settings) -> dict:
    """The test's own exchange and queue, as the daemons' environment names them."""
    return {
        "RABBITMQ_URL": settings.RABBITMQ_URL,
        "USER_SYNC_EXCHANGE": rabbit.route.exchange,
        "USER_SYNC_QUEUES": rabbit.route.queue,
        "USER_SYNC_CONSUME_QUEUES": rabbit.route.queue,
    }


@pytest.fixture
def deployment_a(transactional_db, mysql_server, sync_route_env, settings) -> Deployment:
    """The test database as a deployment. Its name is unique per test, so the users it sends are
    new to B (B keys them by source deployment and source id)."""
    from django.db import connection

    settings.DEPLOYMENT_NAME = f"a-{uuid.uuid4().hex[:8]}"
    return Deployment(settings.DEPLOYMENT_NAME, mysql_server, connection.settings_dict["NAME"], sync_route_env)


@pytest.fixture
def deployment_b(deployment_b_database, mysql_server, sync_route_env) -> Deployment:
    return Deployment("b", mysql_server, deployment_b_database, sync_route_env)


@pytest.fixture
def daemons(tmp_path, transactional_db, rabbit):
    """Start daemons here; every one is stopped (SIGTERM, then SIGKILL) before the database is
    flushed and the queues deleted."""
    supervisor = DaemonSupervisor(tmp_path / "daemons")
    try:
        yield supervisor
    finally:
        supervisor.stop_all()


@pytest.fixture
def broker_tap() -> AmqpTap:
    return AmqpTap()


@pytest.fixture
def broker_proxy(settings, broker_tap):
    """A TCP proxy in front of RabbitMQ (`.via(url)` routes a RABBITMQ_URL through it) whose tap
    counts the deliveries it carries and causes faults at chosen frames."""
    import pika

    params = pika.URLParameters(settings.RABBITMQ_URL)
    with TcpProxy(params.host, params.port, tap=broker_tap) as proxy:
        yield proxy


@pytest.fixture
def database_proxy(mysql_server):
    """A TCP proxy in front of MariaDB (`.via(url)` routes a DATABASE_URL through it)."""
    with TcpProxy(mysql_server.host, mysql_server.port) as proxy:
        yield proxy


@pytest.fixture
def figures(request):
    """Record a measured figure (duplicates, cuts...) shown in the terminal summary."""

    def record(name: str, value) -> None:
        _FIGURES.append((request.node.name, name, value))
        request.node.user_properties.append((name, value))

    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("delivery figures (tests/)")
    for test, name, value in _FIGURES:
        terminalreporter.write_line(f"{test}: {name} = {value}")
