"""`/metrics`: Prometheus text (or OpenMetrics, when the scraper asks for it), by prometheus_client.

Everything is read from the database at scrape time, so every server process, on any host,
reports the same numbers whichever of them the scraper reaches (no per-process counters to add
up). Each query is served by an index:

- outbox rows by status (outbox_status_idx) and the age of the oldest due row (outbox_due_idx);
- per daemon, from its heartbeat rows: seconds since the last beat, and its processed / failed
  counts summed over its processes (for producer_service: messages published / failed);
- API requests over the last METRICS_API_WINDOW_SECS from UserAPIHitLog (api_hit_time_idx holds
  every column read): a gauge by status code and a gauge histogram of latency by status class.
  They describe that window, so they are gauges: read them as they are, without rate();
- scheduled tasks failing now (being retried) and given up on in the last day.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.selectors import outbox_oldest_due_age
from scheduler.selectors import tasks_failed_counts
from users.models import SyncDrift, UserAPIHitLog
from users.sync_counters import OWN_MESSAGES_SKIPPED, sync_counter_values

API_LATENCY_BUCKETS_SECS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outbox_metrics(now):
    rows = GaugeMetricFamily("opsconsole_outbox_rows", "Outbox rows by status.", labels=["status"])
    counts = dict(QueuePublishHistory.objects.order_by().values_list("status").annotate(Count("id")))
    for status in QueuePublishHistory.Status.values:
        rows.add_metric([status], counts.get(status, 0))
    yield rows

    oldest_due_age = outbox_oldest_due_age()
    yield GaugeMetricFamily(
        "opsconsole_outbox_oldest_due_age_seconds",
        "Seconds the oldest row due for publishing has been waiting (0 when none is due).",
        value=oldest_due_age.total_seconds() if oldest_due_age else 0.0,
    )


def worker_metrics(now):
    age = GaugeMetricFamily(
        "opsconsole_worker_heartbeat_age_seconds", "Seconds since the daemon's last heartbeat.", labels=["worker"]
    )
    processed = CounterMetricFamily(
        "opsconsole_worker_processed",
        "Units of work a daemon completed, over all its processes (producer_service: messages published).",
        labels=["worker"],
    )
    failed = CounterMetricFamily(
        "opsconsole_worker_failed",
        "Units of work a daemon failed, over all its processes (producer_service: failed publishes).",
        labels=["worker"],
    )
    per_worker = (
        WorkerHeartbeat.objects.order_by()
        .values("name")
        .annotate(last_seen=Max("last_seen"), processed=Sum("processed"), failed=Sum("failed"))
    )
    for worker in per_worker:
        age.add_metric([worker["name"]], (now - worker["last_seen"]).total_seconds())
        processed.add_metric([worker["name"]], worker["processed"] or 0)
        failed.add_metric([worker["name"]], worker["failed"] or 0)
    yield from (age, processed, failed)


def api_metrics(now):
    window = settings.METRICS_API_WINDOW_SECS
    buckets = {
        f"le_{index}": Count("id", filter=Q(duration_ms__lte=bound * 1000))
        for index, bound in enumerate(API_LATENCY_BUCKETS_SECS)
    }
    per_status = (
        UserAPIHitLog.objects.filter(timestamp__gte=now - timedelta(seconds=window))
        .order_by()
        .values("status_code")
        .annotate(requests=Count("id"), duration_total_ms=Sum("duration_ms"), **buckets)
    )
    requests = GaugeMetricFamily(
        "opsconsole_api_requests_recent", f"API requests in the last {window}s, by status code.", labels=["status"]
    )
    by_class = defaultdict(lambda: defaultdict(float))
    for row in per_status:
        requests.add_metric([str(row["status_code"])], row["requests"])
        totals = by_class[f"{row['status_code'] // 100}xx"]
        for key in (*buckets, "requests", "duration_total_ms"):
            totals[key] += row[key] or 0
    latency = GaugeHistogramMetricFamily(
        "opsconsole_api_request_duration_seconds",
        f"Latency of the API requests in the last {window}s, by status class.",
        labels=["status_class"],
    )
    for status_class, totals in sorted(by_class.items()):
        latency.add_metric(
            [status_class],
            [(str(bound), totals[f"le_{index}"]) for index, bound in enumerate(API_LATENCY_BUCKETS_SECS)]
            + [("+Inf", totals["requests"])],
            gsum_value=totals["duration_total_ms"] / 1000,
        )
    yield from (requests, latency)


def task_metrics(now):
    failing = GaugeMetricFamily(
        "opsconsole_scheduled_tasks_failed",
        "Scheduled tasks being retried after an error, and given up on in the last day.",
        labels=["state"],
    )
    for state, count in tasks_failed_counts().items():
        failing.add_metric([state], count)
    yield failing


def sync_metrics(now):
    counters = sync_counter_values()
    yield CounterMetricFamily(
        "opsconsole_sync_own_messages_skipped",
        "User messages the sync consumer skipped as this deployment's own (same DEPLOYMENT_NAME as the sender).",
        value=counters.get(OWN_MESSAGES_SKIPPED, 0),
    )
    drift = GaugeMetricFamily(
        "opsconsole_sync_drift_ranges",
        "Open drifted ranges: users here that differ from what their source deployment's digest says.",
        labels=["source"],
    )
    per_source = SyncDrift.objects.filter(closed_at__isnull=True).order_by().values_list("source").annotate(Count("id"))
    for source, count in per_source:
        drift.add_metric([source], count)
    yield drift


class OpsConsoleCollector(Collector):
    def collect(self):
        now = timezone.now()
        for family in (outbox_metrics, worker_metrics, api_metrics, task_metrics, sync_metrics):
            yield from family(now)


registry = CollectorRegistry(auto_describe=False)
registry.register(OpsConsoleCollector())


def _scraper_allowed(request) -> bool:
    """With METRICS_TOKEN set, only a scraper sending it as a bearer token reads the metrics."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and constant_time_compare(given.strip(), token)


@never_cache
@require_safe
def metrics(request):
    if not _scraper_allowed(request):
        response = HttpResponse("metrics need the scraper's bearer token\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry), content_type=content_type)
