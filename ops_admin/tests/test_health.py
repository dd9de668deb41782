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
        raise OperationalError("(2003, \"Can't connect to MySQL server\")")

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
