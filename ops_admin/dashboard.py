"""Selectors for the admin dashboard (the admin index). Each one stays cheap on tables with
millions of rows: index range scans and GROUP BY over indexed columns, counts capped at
DASHBOARD_EXACT_COUNT_LIMIT (then the database's estimate), never a full COUNT(*)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pika
from background_task.models import Task
from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from common.admin.pagination import queryset_count_estimate
from common.daemons import daemon_names, daemon_spec
from ops_admin.health import readiness_checks_cached
from pubsub.conf import broker_urls
from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.selectors import outbox_oldest_due_age
from scheduler.selectors import FailedTask, tasks_failed_counts, tasks_failed_recent
from users.login_lockout import login_lockouts_count
from users.models import SyncDrift, UserAPIHitLog

Status = QueuePublishHistory.Status
DASHBOARD_EXACT_COUNT_LIMIT = 10_000
DAEMON_NAMES = daemon_names()
# heartbeats missed before a daemon counts as stale
MISSED_BEATS_STALE = 3


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int
    exact: bool
    url: str


@dataclass(frozen=True)
class HourlyHits:
    labels: list[str]
    ok: list[int]
    client_errors: list[int]
    server_errors: list[int]

    @property
    def total(self) -> int:
        return sum(self.ok) + sum(self.client_errors) + sum(self.server_errors)


@dataclass(frozen=True)
class DaemonHealth:
    name: str
    state: str  # "alive", "stale" or "never seen"
    last_seen: datetime | None
    processes: list[WorkerHeartbeat] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return sum(process.processed for process in self.processes)

    @property
    def failed(self) -> int:
        return sum(process.failed for process in self.processes)


@dataclass(frozen=True)
class ScheduledTasks:
    due: int
    retrying: int
    gave_up: int
    recent_failures: list[FailedTask]


def _capped_count(queryset) -> tuple[int, bool]:
    return queryset_count_estimate(queryset=queryset, exact_limit=DASHBOARD_EXACT_COUNT_LIMIT)


def outbox_status_counts() -> list[StatusCount]:
    """Rows per status, each a range of the (status, id) index, with a link to the filtered list."""
    changelist = reverse("admin:pubsub_queuepublishhistory_changelist")
    counts = []
    for status in Status.values:
        count, exact = _capped_count(QueuePublishHistory.objects.filter(status=status))
        counts.append(StatusCount(status, count, exact, f"{changelist}?{urlencode({'status__exact': status})}"))
    return counts


def outbox_recent_failures(*, now: datetime, within: timedelta = timedelta(hours=24)) -> dict[str, tuple[int, bool]]:
    """Rows that went to error / expired within `within` (ranges of outbox_status_updated_idx)."""
    since = now - within
    return {
        status: _capped_count(QueuePublishHistory.objects.filter(status=status, updated_at__gte=since))
        for status in (Status.ERROR, Status.EXPIRED)
    }


def api_hits_hourly(*, now: datetime, hours: int = 24) -> HourlyHits:
    """API requests per hour over the last `hours` hours (this one included), split by status
    class: one GROUP BY over a range of api_hit_time_idx, which holds every column it reads."""
    current_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first_hour = current_hour - timedelta(hours=hours - 1)
    rows = (
        UserAPIHitLog.objects.filter(timestamp__gte=first_hour)
        .annotate(hour=TruncHour("timestamp", tzinfo=UTC))
        .values("hour")
        .annotate(
            total=Count("id"),
            client_errors=Count("id", filter=Q(status_code__gte=400, status_code__lt=500)),
            server_errors=Count("id", filter=Q(status_code__gte=500)),
        )
        .order_by("hour")
    )
    by_hour = {row["hour"].astimezone(UTC): row for row in rows}
    hours_shown = [first_hour + timedelta(hours=offset) for offset in range(hours)]
    empty = {"total": 0, "client_errors": 0, "server_errors": 0}
    picked = [by_hour.get(hour, empty) for hour in hours_shown]
    return HourlyHits(
        labels=[f"{hour:%H}:00" for hour in hours_shown],
        ok=[row["total"] - row["client_errors"] - row["server_errors"] for row in picked],
        client_errors=[row["client_errors"] for row in picked],
        server_errors=[row["server_errors"] for row in picked],
    )


def _stale_after(name: str) -> timedelta:
    interval = getattr(settings, daemon_spec(name).heartbeat_setting)
    return timedelta(seconds=interval * MISSED_BEATS_STALE)


def daemons_health(*, now: datetime, processes_shown: int = 5) -> list[DaemonHealth]:
    """Each daemon: alive when one of its processes beat recently and has not stopped, stale when
    none did, never seen without any heartbeat; with its latest processes (heartbeat_latest_idx)."""
    health = []
    for name in DAEMON_NAMES:
        processes = list(WorkerHeartbeat.objects.filter(name=name).order_by("-last_seen")[:processes_shown])
        if not processes:
            health.append(DaemonHealth(name, "never seen", None))
            continue
        fresh_since = now - _stale_after(name)
        alive = any(p.last_seen >= fresh_since and p.state != "stopped" for p in processes)
        health.append(DaemonHealth(name, "alive" if alive else "stale", processes[0].last_seen, processes))
    return health


@dataclass(frozen=True)
class BrokerHealth:
    # "host:port" -> "ok" | "down (<error>)", one per node of RABBITMQ_URL
    nodes: dict[str, str]
    # queue declarations a daemon reported refused (empty: none)
    refusals: str

    @property
    def nodes_down(self) -> list[str]:
        return [node for node, state in self.nodes.items() if state != "ok"]


def broker_health() -> BrokerHealth:
    """Each broker node's state, from the readiness check (its cache: a page view opens at most
    one connection per node and READINESS_CACHE_SECS)."""
    checks = readiness_checks_cached(timeout=settings.READINESS_TIMEOUT_SECS, max_age=settings.READINESS_CACHE_SECS)
    nodes = {name.removeprefix("node "): state for name, state in checks.items() if name.startswith("node ")}
    if not nodes:
        params = pika.URLParameters(broker_urls()[0])
        nodes = {f"{params.host}:{params.port}": checks.get("broker", "unknown")}
    queues = checks.get("queues", "ok")
    return BrokerHealth(nodes=nodes, refusals="" if queues == "ok" else queues)


def scheduled_tasks_summary(*, now: datetime) -> ScheduledTasks:
    due, _ = _capped_count(Task.objects.filter(run_at__lte=now, failed_at=None))
    failed = tasks_failed_counts()
    return ScheduledTasks(
        due=due,
        retrying=failed["retrying"],
        gave_up=failed["gave_up"],
        recent_failures=tasks_failed_recent(limit=5),
    )


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    outbox: list[StatusCount]
    oldest_due_age: timedelta | None
    recent_failures: dict[str, tuple[int, bool]]
    api_hits: HourlyHits
    daemons: list[DaemonHealth]
    broker: BrokerHealth
    tasks: ScheduledTasks
    # (username, address) pairs locked out of logging in now
    login_lockouts: int
    # open drifted ranges (users here differing from their source's digest)
    sync_drift_open: int = 0

    @property
    def sync_drift_url(self) -> str:
        return f"{reverse('admin:users_syncdrift_changelist')}?{urlencode({'closed_at__isnull': 'True'})}"

    @property
    def oldest_due_text(self) -> str:
        if self.oldest_due_age is None:
            return "nothing due"
        seconds = int(self.oldest_due_age.total_seconds())
        if seconds < 120:
            return f"{seconds} s"
        if seconds < 2 * 3600:
            return f"{seconds // 60} min"
        if seconds < 2 * 86400:
            return f"{seconds // 3600} h {seconds % 3600 // 60} min"
        return f"{seconds // 86400} days"

    @property
    def login_lockouts_url(self) -> str:
        return f"{reverse('admin:axes_accessattempt_changelist')}?{urlencode({'locked_out': 'yes'})}"

    @property
    def api_hits_chart(self) -> dict:
        hits = self.api_hits
        return {
            "labels": hits.labels,
            "ok": hits.ok,
            "client_errors": hits.client_errors,
            "server_errors": hits.server_errors,
        }


def dashboard_get(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    return Dashboard(
        now=now,
        outbox=outbox_status_counts(),
        oldest_due_age=outbox_oldest_due_age(),
        recent_failures=outbox_recent_failures(now=now),
        api_hits=api_hits_hourly(now=now),
        daemons=daemons_health(now=now),
        broker=broker_health(),
        tasks=scheduled_tasks_summary(now=now),
        login_lockouts=login_lockouts_count(now=now),
        sync_drift_open=SyncDrift.objects.filter(closed_at__isnull=True).count(),
    )
