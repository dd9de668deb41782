"""The "Sync drift" admin page, its "Request resync" action, its count on the dashboard and in
/metrics, and the dashboard's "Publish sync digests now"."""

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from pubsub.models import QueuePublishHistory
from users.models import SyncDrift
from users.sync_control import SYNC_DIGEST, SYNC_RESYNC_REQUESTED

pytestmark = pytest.mark.django_db


def drift_row(source="campus-north", **fields):
    values = {
        "range_start": 0,
        "range_end": 999,
        "queue": "to-b",
        "reply_queue": "to-north",
        "source_count": 5,
        "local_count": 4,
        "last_checked_at": timezone.now(),
    } | fields
    return SyncDrift.objects.create(source=source, **values)


def test_metrics_gauge_counts_open_drift_by_source(client):
    drift_row()
    drift_row(range_start=1000, range_end=1999)
    drift_row(source="campus-south")
    drift_row(source="campus-south", range_start=5000, range_end=5999, closed_at=timezone.now())

    families = text_string_to_metric_families(client.get("/metrics").content.decode())
    samples = {
        sample.labels["source"]: sample.value
        for family in families
        for sample in family.samples
        if sample.name == "opsconsole_sync_drift_ranges"
    }
    assert samples == {"campus-north": 2, "campus-south": 1}


@pytest.mark.parametrize("kind", ["Auditor", "Support", "Ops"])
def test_every_role_reads_sync_drift_and_sees_its_count(client_as, kind):
    drift_row()
    client = client_as(kind)

    page = client.get(reverse("admin:users_syncdrift_changelist")).content.decode()
    dashboard = client.get("/admin/").content.decode()

    assert "0–999" in page
    assert 'id="sync-drift-open" class="text-danger">1<' in dashboard


@pytest.mark.parametrize(("kind", "allowed"), [("Auditor", False), ("Support", True), ("Ops", True)])
def test_request_resync_action_for_support_and_ops_only(client_as, kind, allowed):
    drift = drift_row()

    client_as(kind).post(
        reverse("admin:users_syncdrift_changelist"), {"action": "request_resync", "_selected_action": [drift.pk]}
    )

    assert QueuePublishHistory.objects.filter(message_type=SYNC_RESYNC_REQUESTED).exists() is allowed


def test_publish_digests_button_enqueues_one_digest_per_queue(client_as, settings):
    response = client_as("Ops").post(reverse("ops_admin:publish_sync_digests_now"), follow=True)

    assert QueuePublishHistory.objects.filter(message_type=SYNC_DIGEST).count() == len(settings.USER_SYNC_QUEUES)
    assert "Sync digest enqueued" in response.content.decode()
