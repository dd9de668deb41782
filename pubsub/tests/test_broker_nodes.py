"""RABBITMQ_URL listing several nodes: connections go to the first node that answers."""

import pytest

from pubsub.broker import BrokerUnavailable, Publisher, connect, connection_parameters
from pubsub.conf import broker_urls

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]

DEAD_NODE = "amqp://guest:guest@127.0.0.1:1/%2F"


def test_one_url_is_one_node(settings):
    settings.RABBITMQ_URL = "amqp://guest:guest@mq1:5672/%2F"

    assert [(p.host, p.port) for p in connection_parameters()] == [("mq1", 5672)]


def test_comma_separated_urls_are_the_nodes_in_order(settings):
    settings.RABBITMQ_URL = "amqp://u:p@mq1:5672/v, amqp://u:p@mq2:5673/v,amqp://u:p@mq3:5674/v"

    assert broker_urls() == ["amqp://u:p@mq1:5672/v", "amqp://u:p@mq2:5673/v", "amqp://u:p@mq3:5674/v"]
    assert [(p.host, p.port) for p in connection_parameters()] == [("mq1", 5672), ("mq2", 5673), ("mq3", 5674)]


def test_connect_skips_a_node_that_does_not_answer(settings, rabbit):
    settings.RABBITMQ_URL = f"{DEAD_NODE},{rabbit.url}"

    connection = connect()

    assert connection.is_open
    connection.close()


def test_connect_names_the_broker_unavailable_when_no_node_answers(settings):
    settings.RABBITMQ_URL = f"{DEAD_NODE},amqp://guest:guest@127.0.0.1:2/%2F"

    with pytest.raises(BrokerUnavailable):
        connect()


def test_the_publisher_opens_on_the_next_node_when_the_first_does_not_answer(settings, rabbit):
    settings.RABBITMQ_URL = f"{DEAD_NODE},{rabbit.url}"
    publisher = Publisher()

    publisher.open()

    assert publisher.is_open
    assert (publisher.connection.params.host, publisher.connection.params.port) != ("127.0.0.1", 1)
    publisher.close()


def test_the_publisher_reports_every_node_when_none_answers(settings):
    settings.RABBITMQ_URL = f"{DEAD_NODE},amqp://guest:guest@127.0.0.1:2/%2F"
    publisher = Publisher()

    with pytest.raises(BrokerUnavailable) as unavailable:
        publisher.open()

    assert "127.0.0.1:1" in str(unavailable.value) and "127.0.0.1:2" in str(unavailable.value)
