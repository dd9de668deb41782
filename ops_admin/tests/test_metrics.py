"""/metrics: what the scraper reads, computed from the database."""

from datetime import timedelta

import pytest
from background_task.models import CompletedTask, Task
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from pubsub.conf import user_sync_routes
from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.outbox import queue_msg_to_publish
from users.models import UserAPIHitLog

Status = QueuePublishHistory.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def scrape(client):
    """{(sample name, frozenset(labels)): value} of one GET /metrics."""

    def _scrape():
        response = client.get("/metrics")
        assert response.status_code == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    return _scrape


@pytest.fixture
def make_row():
    def _make_row(**fields):
        row = queue_msg_to_publish(route=user_sync_routes()[0], body={"n": 1}, message_type="test.message")
        QueuePublishHistory.objects.filter(pk=row.pk).update(**fields)
        return row

    return _make_row


def hit(*, status_code=200, duration_ms=10.0, seconds_ago=1):
    return UserAPIHitLog.objects.create(
        method="GET",
        api_name="/api/users/me/",
        status_code=status_code,
        duration_ms=duration_ms,
        timestamp=timezone.now() - timedelta(seconds=seconds_ago),
    )


def heartbeat(*, name, pid, seconds_ago=0, processed=0, failed=0):
    return WorkerHeartbeat.objects.create(
        name=name,
        host="node-1",
        pid=pid,
        last_seen=timezone.now() - timedelta(seconds=seconds_ago),
        processed=processed,
        failed=failed,
    )


def test_metrics_are_prometheus_text(client):
    assert client.get("/metrics")["Content-Type"].startswith("text/plain; version=0.0.4")


def test_metrics_are_openmetrics_when_the_scraper_asks(client):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.endswith(b"# EOF\n")


def test_outbox_rows_are_counted_by_status(scrape, make_row):
    make_row(), make_row(), make_row(status=Status.ERROR)

    metrics = scrape()

    assert metrics[("opsconsole_outbox_rows", frozenset({("status", "pending")}))] == 2
    assert metrics[("opsconsole_outbox_rows", frozenset({("status", "error")}))] == 1
    assert metrics[("opsconsole_outbox_rows", frozenset({("status", "published")}))] == 0


def test_oldest_due_age_is_how_long_the_oldest_due_row_has_waited(scrape, make_row):
    make_row(next_attempt_at=timezone.now() - timedelta(seconds=120))
    make_row(next_attempt_at=timezone.now() - timedelta(seconds=5))

    age = scrape()[("opsconsole_outbox_oldest_due_age_seconds", frozenset())]

    assert 120 <= age < 130


def test_oldest_due_age_is_zero_when_nothing_is_due(scrape, make_row):
    make_row(next_attempt_at=timezone.now() + timedelta(minutes=5))
    make_row(status=Status.PUBLISHED, next_attempt_at=None)

    assert scrape()[("opsconsole_outbox_oldest_due_age_seconds", frozenset())] == 0


def test_heartbeat_age_is_per_daemon_from_its_latest_process(scrape):
    heartbeat(name="producer_service", pid=1, seconds_ago=300)
    heartbeat(name="producer_service", pid=2, seconds_ago=30)

    age = scrape()[("opsconsole_worker_heartbeat_age_seconds", frozenset({("worker", "producer_service")}))]

    assert 30 <= age < 40


def test_published_and_failed_counts_add_up_over_a_daemons_processes(scrape):
    heartbeat(name="producer_service", pid=1, processed=10, failed=1)
    heartbeat(name="producer_service", pid=2, processed=5, failed=2)

    metrics = scrape()

    worker = frozenset({("worker", "producer_service")})
    assert metrics[("opsconsole_worker_processed_total", worker)] == 15
    assert metrics[("opsconsole_worker_failed_total", worker)] == 3


def test_api_requests_in_the_window_are_counted_by_status(scrape, settings):
    settings.METRICS_API_WINDOW_SECS = 60
    hit(), hit(), hit(status_code=500), hit(seconds_ago=120)

    metrics = scrape()

    assert metrics[("opsconsole_api_requests_recent", frozenset({("status", "200")}))] == 2
    assert metrics[("opsconsole_api_requests_recent", frozenset({("status", "500")}))] == 1


def test_api_latency_histogram_buckets_the_window_by_status_class(scrape):
    hit(duration_ms=3), hit(status_code=201, duration_ms=40), hit(duration_ms=2000), hit(status_code=404, duration_ms=1)

    metrics = scrape()

    def bucket(le, status_class="2xx"):
        labels = frozenset({("le", le), ("status_class", status_class)})
        return metrics[("opsconsole_api_request_duration_seconds_bucket", labels)]

    assert (bucket("0.005"), bucket("0.05"), bucket("2.5"), bucket("+Inf")) == (1, 2, 3, 3)
    assert bucket("+Inf", "4xx") == 1
    assert metrics[("opsconsole_api_request_duration_seconds_gsum", frozenset({("status_class", "2xx")}))] == 2.043


def test_failing_scheduled_tasks_are_counted(scrape):
    Task.objects.new_task("some.task").save()
    Task.objects.update(last_error="Traceback ...\nRuntimeError: disk full", attempts=1)
    CompletedTask.objects.create(
        task_name="other.task",
        task_params="[[], {}]",
        task_hash="x" * 40,
        run_at=timezone.now(),
        failed_at=timezone.now(),
        last_error="ValueError",
    )

    metrics = scrape()

    assert metrics[("opsconsole_scheduled_tasks_failed", frozenset({("state", "retrying")}))] == 1
    assert metrics[("opsconsole_scheduled_tasks_failed", frozenset({("state", "gave_up")}))] == 1


def test_metrics_refuse_a_scraper_without_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_metrics_answer_the_scraper_with_the_token(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")

    assert response.status_code == 200
    assert b"opsconsole_outbox_rows" in response.content


@pytest.mark.parametrize(
    ("debug", "token", "warned"),
    [
        (False, "", True),
        (False, "scrape-secret-0123456789", False),
        (True, "", False),
    ],
    ids=["production-without-token", "production-with-token", "development"],
)
def test_deploy_check_warns_of_metrics_without_a_token_only_in_production(settings, debug, token, warned):
    from ops_admin.checks import METRICS_OPEN_ID, check_metrics_token

    settings.DEBUG, settings.METRICS_TOKEN = debug, token

    assert [warning.id for warning in check_metrics_token()] == ([METRICS_OPEN_ID] if warned else [])
