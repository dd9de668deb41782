"""/readyz and the dashboard with RABBITMQ_URL listing several nodes."""

import pytest

from users.tests.factories import SuperuserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]

DEAD_NODE = "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.fixture
def two_nodes_one_down(settings, rabbit):
    settings.READINESS_CACHE_SECS = 0
    settings.RABBITMQ_URL = f"{rabbit.url},{DEAD_NODE}"


def test_readyz_is_degraded_naming_the_node_that_is_down(client, two_nodes_one_down):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["node 127.0.0.1:1"].startswith("down (")
    assert body["checks"]["broker"] == "degraded (1 of 2 nodes down)"
    assert body["degraded"] == ["broker", "node 127.0.0.1:1"]
    assert body["down"] == []


def test_readyz_is_503_when_every_node_is_down(client, settings):
    settings.READINESS_CACHE_SECS = 0
    settings.RABBITMQ_URL = f"{DEAD_NODE},amqp://guest:guest@127.0.0.1:2/%2F"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_readyz_is_ok_when_every_node_answers(client, settings, rabbit):
    settings.READINESS_CACHE_SECS = 0
    settings.RABBITMQ_URL = f"{rabbit.url},{rabbit.url}"

    body = client.get("/readyz").json()

    assert body["status"] == "ok"


def test_the_dashboard_shows_the_node_that_is_down(client, two_nodes_one_down):
    client.force_login(SuperuserFactory())

    page = client.get("/admin/").content.decode()

    assert 'id="broker-panel"' in page
    assert 'data-node="127.0.0.1:1"><span class="badge bg-danger">down</span>' in page
