"""The dashboard's worker buttons: each a POST that checks its permission on the server, runs one
bounded service call in the request and tells the result as an admin message."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from ops_admin.admin_tokens import flush_expired_tokens_outcome
from pubsub.admin import publish_due_now_outcome
from pubsub.broker import BrokerUnavailable
from pubsub.services import deadletter_drain_now
from scheduler.services import tasks_run_due
from users.api_hits import api_hits_purge_expired
from users.models import UserResyncJob
from users.services.drift import sync_digests_publish_all
from users.services.resync_jobs import user_resync_job_create

# bounds of one button press: the request must end well within a proxy's timeout
SCHEDULED_TASKS_LIMIT = 20
SCHEDULED_TASKS_MAX_SECS = 20.0
# long-running tasks named in the message when the button leaves them to the scheduler
LONG_TASKS_NAMED = 5
DELETE_LIMIT = 100_000


def worker_button(permission: str):
    """POST only, `permission` required (403 otherwise), back to the dashboard with the
    (level, text) the view returns as a message."""

    def decorator(run):
        @require_POST
        @wraps(run)
        def view(request):
            if not request.user.has_perm(permission):
                raise PermissionDenied
            level, text = run(request)
            messages.add_message(request, level, text)
            return redirect("admin:index")

        return view

    return decorator


@worker_button("pubsub.publish_queuepublishhistory")
def publish_due_now(request):
    return publish_due_now_outcome()


@worker_button("ops_admin.run_workers")
def drain_deadletters_now(request):
    try:
        handled, rejected = deadletter_drain_now()
    except BrokerUnavailable as exc:
        return messages.ERROR, f"RabbitMQ is unreachable, no dead letter was read: {exc}"
    return messages.SUCCESS, f"Drained {handled} dead letter(s) into the outbox; {rejected} rejected."


@worker_button("ops_admin.run_scheduled_tasks")
def run_scheduled_tasks_now(request):
    run = tasks_run_due(limit=SCHEDULED_TASKS_LIMIT, max_secs=SCHEDULED_TASKS_MAX_SECS)
    text = f"Ran {run.ran} due scheduled task(s); {run.failed} failed (rescheduled)."
    if run.left:
        text += f" {run.left} still due: the scheduler runs them, or press again."
    if run.left_to_scheduler:
        shown = ", ".join(run.left_to_scheduler[:LONG_TASKS_NAMED])
        more = len(run.left_to_scheduler) - LONG_TASKS_NAMED
        text += f" Left to the scheduler (too long for a request): {shown}{f' and {more} more' if more > 0 else ''}."
    return (messages.WARNING if run.failed else messages.SUCCESS), text


@worker_button("ops_admin.flush_tokens")
def flush_tokens_now(request):
    return flush_expired_tokens_outcome()


@worker_button("ops_admin.purge_api_hits")
def purge_api_hits_now(request):
    deleted = api_hits_purge_expired(limit=DELETE_LIMIT)
    if deleted is None:
        return messages.INFO, "API hits are kept forever (API_HIT_RETENTION_DAYS=0): nothing purged."
    return messages.SUCCESS, f"Purged {deleted} API hit(s) older than {settings.API_HIT_RETENTION_DAYS} days."


@worker_button("ops_admin.run_workers")
def publish_sync_digests_now(request):
    rows = sync_digests_publish_all()
    queues = ", ".join(row.queue_name for row in rows)
    return messages.SUCCESS, f"Sync digest enqueued for {queues}: its receivers record the ranges that drifted."


@require_POST
def resync_all_users(request):
    """The dashboard's "Resync all users to <queue>": queues a resync job and goes to its page."""
    if not request.user.has_perm("users.resync_users"):
        raise PermissionDenied
    queue = request.POST.get("queue", "")
    if queue not in settings.USER_SYNC_QUEUES:
        return HttpResponseBadRequest(
            f"Unknown queue {queue[:100]!r}: a resync goes to one of this deployment's user sync queues "
            f"({', '.join(settings.USER_SYNC_QUEUES)}).",
            content_type="text/plain",
        )
    job = user_resync_job_create(queue=queue, scope=UserResyncJob.Scope.ALL, requested_by=request.user)
    messages.success(request, f"Resync #{job.pk} of all {job.total} users to {queue} queued.")
    return redirect(reverse("admin:users_userresyncjob_change", args=[job.pk]))
