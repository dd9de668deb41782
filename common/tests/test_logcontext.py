"""Every log line names its request or message; daemons and the server log to files of their own."""

import logging

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from common.logcontext import LogContextFilter, log_file_name_for, message_context, request_context


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(LogContextFilter())
        self.setFormatter(logging.Formatter("%(log_context)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def lines():
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)


def test_line_logged_in_a_request_carries_its_id(lines):
    with request_context("req-42"):
        logging.getLogger("anything").warning("hello")

    assert lines == ["req=req-42 hello"]


def test_line_logged_while_handling_one_message_carries_its_id(lines):
    with message_context(["6f1c"]):
        logging.getLogger("anything").warning("applied")

    assert lines == ["msg=6f1c applied"]


def test_line_logged_while_handling_a_batch_names_its_first_message_and_how_many_more(lines):
    with message_context(["6f1c", "77aa", None, "9bd0"]):
        logging.getLogger("anything").warning("applied")

    assert lines == ["msg=6f1c+2 applied"]


def test_line_logged_outside_any_context_has_a_dash(lines):
    logging.getLogger("anything").warning("idle")

    assert lines == ["- idle"]


def test_context_ends_with_the_block(lines):
    with request_context("req-42"):
        pass
    logging.getLogger("anything").warning("after")

    assert lines == ["- after"]


@pytest.mark.django_db
def test_djangos_own_request_log_line_carries_the_request_id(client, lines):
    client.get("/api/users/me/", HTTP_X_REQUEST_ID="trace-1")

    assert "req=trace-1 Unauthorized: /api/users/me/" in lines


@pytest.mark.django_db
def test_request_id_reaches_log_lines_under_asgi(lines):
    async_to_sync(AsyncClient().get)("/api/users/me/", headers={"X-Request-ID": "trace-2"})

    assert "req=trace-2 Unauthorized: /api/users/me/" in lines


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["manage.py", "producer_service", "--once"], "producer_service.log"),
        (["/srv/app/manage.py", "dj_tasks_scheduler"], "dj_tasks_scheduler.log"),
        (["/srv/app/.venv/bin/uvicorn", "project.asgi:application"], "server.log"),
        (["/srv/app/.venv/lib/python3.11/site-packages/uvicorn/__main__.py", "project.asgi:application"], "server.log"),
        (["manage.py", "migrate"], ""),
        (["/srv/app/.venv/bin/pytest"], ""),
    ],
)
def test_each_long_running_process_has_its_own_log_file(argv, name):
    assert log_file_name_for(argv) == name


@pytest.mark.django_db
def test_request_id_is_cleared_once_the_response_is_closed(client, lines):
    client.get("/api/users/me/", HTTP_X_REQUEST_ID="trace-3")
    logging.getLogger("anything").warning("between requests")

    assert lines[-1] == "- between requests"


class RecordingChannel:
    def basic_ack(self, delivery_tag):
        pass


def test_a_consumers_handler_lines_carry_the_message_id(lines):
    import pika

    from pubsub.consumer import Delivery, Outcome, QueueConsumer

    class LoggingConsumer(QueueConsumer):
        name = "logging_consumer"

        def queue_names(self):
            return ["q"]

        def declarations(self, queue):
            return []

        def handle_batch(self, deliveries):
            logging.getLogger("handler").warning("applying")
            return [Outcome.accepted() for _ in deliveries]

    consumer = LoggingConsumer(once=True)
    consumer.channel = RecordingChannel()
    consumer._buffer = [Delivery("q", 1, pika.BasicProperties(message_id="5f0e-msg"), b"{}")]

    consumer._flush()

    assert lines == ["msg=5f0e-msg applying"]
