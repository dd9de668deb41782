"""The dashboard's data on the admin index, for users allowed to see it (nothing elsewhere)."""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from ops_admin.dashboard import dashboard_get

DASHBOARD_PERMISSION = "ops_admin.view_dashboard"


@dataclass(frozen=True)
class WorkerButton:
    label: str
    url_name: str
    permission: str
    icon: str


WORKER_BUTTONS = (
    WorkerButton(
        "Publish due messages now", "publish_due_now", "pubsub.publish_queuepublishhistory", "fas fa-paper-plane"
    ),
    WorkerButton("Drain dead-letter queues now", "drain_deadletters_now", "ops_admin.run_workers", "fas fa-inbox"),
    WorkerButton(
        "Run due scheduled tasks now", "run_scheduled_tasks_now", "ops_admin.run_scheduled_tasks", "fas fa-clock"
    ),
    WorkerButton("Flush expired tokens now", "flush_tokens_now", "ops_admin.flush_tokens", "fas fa-key"),
    WorkerButton("Purge old API hits now", "purge_api_hits_now", "ops_admin.purge_api_hits", "fas fa-broom"),
    WorkerButton("Publish sync digests now", "publish_sync_digests_now", "ops_admin.run_workers", "fas fa-fingerprint"),
)


def dashboard(request) -> dict:
    match = getattr(request, "resolver_match", None)
    if match is None or match.view_name != "admin:index":
        return {}
    user = request.user
    if not (user.is_active and user.is_staff and user.has_perm(DASHBOARD_PERMISSION)):
        return {}
    return {
        # evaluated when the template first reads it, once
        "ops_dashboard": SimpleLazyObject(dashboard_get),
        "ops_worker_buttons": [
            {"label": b.label, "url": reverse(f"ops_admin:{b.url_name}"), "icon": b.icon, "id": b.url_name}
            for b in WORKER_BUTTONS
            if user.has_perm(b.permission)
        ],
        "ops_resync_queues": list(settings.USER_SYNC_QUEUES) if user.has_perm("users.resync_users") else [],
    }
