"""/healthz and /readyz, with the database or the broker down."""

import socket
import time

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError('(2003, "Can\'t connect to MySQL server")')

    monkeypatch.setattr(connection, "cursor", refuse)


@pytest.fixture
def silent_broker(settings):
    """A port that accepts connections and never says a word (a hung broker)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{listener.getsockname()[1]}/%2F"
        yield


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_answers_while_the_database_is_down(client, database_down):
    assert client.get("/healthz").status_code == 200


@pytest.mark.rabbitmq
def test_readyz_is_ok_when_the_database_and_the_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}, "down": []}


def test_readyz_is_503_naming_the_broker_when_it_is_down(client, settings):
    settings.RABBITMQ_URL = CLOSED_PORT_URL

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]
    assert response.json()["checks"]["broker"].startswith("down (")


def test_readyz_is_503_naming_the_database_when_it_is_down(client, settings, database_down):
    settings.RABBITMQ_URL = CLOSED_PORT_URL

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down (OperationalError)"
    assert response.json()["down"] == ["database", "broker"]


def test_readyz_gives_up_on_a_hung_broker_within_the_timeout(client, settings, silent_broker):
    settings.READINESS_TIMEOUT_SECS = 0.5

    started = time.monotonic()
    response = client.get("/readyz")

    assert response.status_code == 503
    assert time.monotonic() - started < 3


def test_probes_answer_over_plain_http_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/users/me/").status_code == 301


def test_readyz_is_not_cached(client, settings):
    settings.RABBITMQ_URL = CLOSED_PORT_URL

    assert "no-cache" in client.get("/readyz")["Cache-Control"]


@pytest.fixture
def fresh_readiness_cache():
    from ops_admin import health

    health.readiness_cache.clear()
    yield
    health.readiness_cache.clear()


@pytest.fixture
def broker_connections(monkeypatch, fresh_readiness_cache):
    """Counts the AMQP connections /readyz opens (each to a broker that answers at once)."""
    from ops_admin import health

    opened = []

    class CountedConnection:
        def __init__(self, params):
            opened.append(params)

        def close(self):
            pass

    monkeypatch.setattr(health.pika, "BlockingConnection", CountedConnection)
    return opened


def test_readyz_probes_within_the_cache_window_open_one_broker_connection(client, settings, broker_connections):
    settings.READINESS_CACHE_SECS = 60

    statuses = [client.get("/readyz").status_code for _ in range(20)]

    assert statuses == [200] * 20
    assert len(broker_connections) == 1


def test_readyz_checks_again_once_the_cache_window_is_over(client, settings, broker_connections):
    settings.READINESS_CACHE_SECS = 0.05
    client.get("/readyz")
    time.sleep(0.1)

    client.get("/readyz")

    assert len(broker_connections) == 2


def test_readyz_without_a_cache_window_checks_on_every_probe(client, settings, broker_connections):
    settings.READINESS_CACHE_SECS = 0

    for _ in range(3):
        client.get("/readyz")

    assert len(broker_connections) == 3


def test_concurrent_readiness_probes_within_the_window_share_one_check(monkeypatch, fresh_readiness_cache):
    from concurrent.futures import ThreadPoolExecutor

    from ops_admin import health

    checks_run = []

    def slow_checks(*, timeout):
        checks_run.append(timeout)
        time.sleep(0.2)
        return {"database": "ok", "broker": "ok"}

    monkeypatch.setattr(health, "readiness_checks", slow_checks)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: health.readiness_checks_cached(timeout=1.0, max_age=60), range(8)))

    assert len(checks_run) == 1
    assert results == [{"database": "ok", "broker": "ok"}] * 8
