"""The admin index as the operations dashboard: what it shows, to whom, and at what cost."""

import json
from datetime import timedelta

import pytest
from background_task.models import CompletedTask, Task
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from ops_admin import dashboard
from pubsub.conf import user_sync_routes
from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from pubsub.outbox import queue_msg_to_publish
from users.models import UserAPIHitLog
from users.tests.factories import SuperuserFactory, UserFactory

Status = QueuePublishHistory.Status
INDEX = "admin:index"
CHART_JS = "ops_admin/vendor/chartjs/chart.umd.min.js"

pytestmark = pytest.mark.django_db


def make_row(**fields):
    row = queue_msg_to_publish(route=user_sync_routes()[0], body={"n": 1}, message_type="test.message")
    QueuePublishHistory.objects.filter(pk=row.pk).update(**fields)
    return row


def hit(*, status_code=200, hours_ago=0):
    return UserAPIHitLog.objects.create(
        method="GET",
        api_name="/api/users/me/",
        status_code=status_code,
        duration_ms=5.0,
        timestamp=timezone.now() - timedelta(hours=hours_ago, seconds=1),
    )


def heartbeat(*, name, pid=1, seconds_ago=0, state="running", processed=0):
    return WorkerHeartbeat.objects.create(
        name=name,
        host="node-1",
        pid=pid,
        state=state,
        processed=processed,
        last_seen=timezone.now() - timedelta(seconds=seconds_ago),
    )


def staff_with(*perms):
    user = UserFactory(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def superuser_client(client):
    client.force_login(SuperuserFactory())
    return client


def daemon_state(response, name):
    return next(d for d in response.context["ops_dashboard"].daemons if d.name == name).state


def test_dashboard_links_outbox_counts_to_the_filtered_changelist(superuser_client):
    QueuePublishHistory.objects.all().delete()
    make_row(status=Status.ERROR)
    make_row(status=Status.ERROR)
    make_row(status=Status.PUBLISHED)

    response = superuser_client.get(reverse(INDEX))

    counts = {row.status: row.count for row in response.context["ops_dashboard"].outbox}
    assert counts == {"pending": 0, "published": 1, "error": 2, "expired": 0}
    assert 'href="/admin/pubsub/queuepublishhistory/?status__exact=error"' in response.content.decode()


def test_dashboard_estimates_status_counts_beyond_the_exact_limit(superuser_client, monkeypatch):
    monkeypatch.setattr(dashboard, "DASHBOARD_EXACT_COUNT_LIMIT", 2)
    for _ in range(3):
        make_row(status=Status.ERROR)

    response = superuser_client.get(reverse(INDEX))

    error = next(row for row in response.context["ops_dashboard"].outbox if row.status == "error")
    assert (error.count >= 3, error.exact) == (True, False)


def test_dashboard_shows_how_long_the_oldest_due_message_waited(superuser_client):
    QueuePublishHistory.objects.all().delete()
    make_row(next_attempt_at=timezone.now() - timedelta(minutes=30))
    make_row(next_attempt_at=timezone.now() + timedelta(minutes=30))

    response = superuser_client.get(reverse(INDEX))

    assert response.context["ops_dashboard"].oldest_due_text == "30 min"


def test_dashboard_counts_errors_and_expiries_of_the_last_day_only(superuser_client):
    make_row(status=Status.ERROR)
    make_row(status=Status.EXPIRED)
    make_row(status=Status.EXPIRED)
    make_row(status=Status.ERROR, updated_at=timezone.now() - timedelta(days=2))

    response = superuser_client.get(reverse(INDEX))

    assert response.context["ops_dashboard"].recent_failures == {"error": (1, True), "expired": (2, True)}


def test_dashboard_charts_api_hits_per_hour_by_status_class(superuser_client):
    hit(status_code=200)
    hit(status_code=404)
    hit(status_code=503, hours_ago=2)
    hit(status_code=200, hours_ago=30)

    response = superuser_client.get(reverse(INDEX))

    html = response.content.decode()
    data = json.loads(html.split('id="api-hits-data" type="application/json">')[1].split("</script>")[0])
    assert (len(data["labels"]), data["ok"][-1], data["client_errors"][-1], data["server_errors"][-3]) == (24, 1, 1, 1)
    assert sum(data["ok"]) + sum(data["client_errors"]) + sum(data["server_errors"]) == 3


def test_dashboard_draws_the_chart_with_the_vendored_library(superuser_client):
    html = superuser_client.get(reverse(INDEX)).content.decode()

    assert '<canvas id="api-hits-chart"' in html
    assert f'src="/static/{CHART_JS}"' in html
    assert finders.find(CHART_JS) is not None


def test_dashboard_reports_alive_stale_and_never_seen_daemons(superuser_client, settings):
    settings.WORKER_HEARTBEAT_SECS = 5
    heartbeat(name="producer_service", seconds_ago=1, processed=7)
    heartbeat(name="deadletter_consumer", seconds_ago=600)

    response = superuser_client.get(reverse(INDEX))

    assert [daemon_state(response, name) for name in dashboard.DAEMON_NAMES] == [
        "alive",
        "stale",
        "never seen",
        "never seen",
    ]


def test_dashboard_counts_a_stopped_daemon_as_stale(superuser_client):
    heartbeat(name="user_sync_consumer", state="stopped")

    assert daemon_state(superuser_client.get(reverse(INDEX)), "user_sync_consumer") == "stale"


def test_dashboard_shows_processes_and_their_counts(superuser_client):
    heartbeat(name="producer_service", pid=11, processed=7)
    heartbeat(name="producer_service", pid=12, processed=5)

    response = superuser_client.get(reverse(INDEX))

    producer = next(d for d in response.context["ops_dashboard"].daemons if d.name == "producer_service")
    assert (len(producer.processes), producer.processed) == (2, 12)
    assert "node-1:12 running" in response.content.decode()


def test_dashboard_shows_due_and_failed_scheduled_tasks(superuser_client):
    Task.objects.create(task_name="x.due", task_params="[[], {}]", task_hash="a", run_at=timezone.now())
    Task.objects.create(
        task_name="x.retrying",
        task_params="[[], {}]",
        task_hash="b",
        run_at=timezone.now() + timedelta(hours=1),
        last_error="Traceback\nRuntimeError: disk full",
        attempts=1,
    )
    CompletedTask.objects.create(
        task_name="x.gave_up",
        task_params="[[], {}]",
        task_hash="c",
        run_at=timezone.now(),
        failed_at=timezone.now(),
        last_error="ValueError: bad",
        attempts=3,
    )

    response = superuser_client.get(reverse(INDEX))

    tasks = response.context["ops_dashboard"].tasks
    assert (tasks.due, tasks.retrying, tasks.gave_up) == (1, 1, 1)
    assert "RuntimeError: disk full" in response.content.decode()


def test_user_without_dashboard_permission_sees_the_normal_index(client):
    client.force_login(staff_with("pubsub.view_queuepublishhistory"))

    response = client.get(reverse(INDEX))

    assert response.status_code == 200
    assert "ops_dashboard" not in response.context
    assert 'id="ops-dashboard"' not in response.content.decode()


def test_dashboard_viewer_gets_the_panels_without_buttons(client):
    client.force_login(staff_with("ops_admin.view_dashboard"))

    html = client.get(reverse(INDEX)).content.decode()

    assert 'id="ops-dashboard"' in html
    assert 'id="worker-buttons"' not in html


def test_dashboard_shows_only_the_buttons_the_user_may_press(client):
    client.force_login(staff_with("ops_admin.view_dashboard", "ops_admin.flush_tokens"))

    html = client.get(reverse(INDEX)).content.decode()

    assert reverse("ops_admin:flush_tokens_now") in html
    assert reverse("ops_admin:publish_due_now") not in html


def test_dashboard_panels_stay_off_other_admin_pages(superuser_client):
    response = superuser_client.get(reverse("admin:pubsub_queuepublishhistory_changelist"))

    assert "ops_dashboard" not in response.context


def test_dashboard_query_count_does_not_grow_with_the_data(superuser_client, django_assert_max_num_queries):
    superuser_client.get(reverse(INDEX))
    for status in Status.values:
        make_row(status=status)
    for hours_ago in range(24):
        hit(hours_ago=hours_ago)
    heartbeat(name="producer_service")

    with django_assert_max_num_queries(30):
        superuser_client.get(reverse(INDEX))


def test_admin_index_still_sends_anonymous_users_to_login(client):
    response = client.get(reverse(INDEX))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_dashboard_shows_which_host_leads_the_schedulers(superuser_client):
    from scheduler.leadership import scheduler_lease_acquire

    scheduler_lease_acquire(holder="dj_tasks_scheduler@sched-2:4242", host="sched-2", pid=4242, lease_secs=60)

    page = superuser_client.get(reverse(INDEX)).content.decode()

    assert "Run by: <strong>sched-2</strong> (pid 4242" in page


def test_dashboard_says_when_no_scheduler_leads(superuser_client):
    page = superuser_client.get(reverse(INDEX)).content.decode()

    assert "no scheduler leads" in page
