"""Resync (the sending side of drift repair): one `user.snapshot` message per user in a job's scope,
enqueued through the outbox in batches, resumable from the job's cursor, cancellable, and yielding
to live changes. Live messages take the same outbox and the same queue as snapshots, first come
first served; so before each batch the job waits while more than USER_RESYNC_OUTBOX_BACKLOG_MAX
rows wait in the outbox or more than USER_RESYNC_QUEUE_DEPTH_MAX messages in the receivers' queue:
a live change never queues behind more than those two bounds, however big the resync.

The snapshot's version is its own outbox row's id, as every message's is: the batch locks its
users before reading them and inserts the rows after, so a live change of one of them either
committed before (its row's id is lower: the snapshot holds its state, and a late delivery of it
is stale) or starts after (its id is higher: it wins over the snapshot)."""

import logging
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from pubsub.broker import BrokerUnavailable
from pubsub.conf import Route
from pubsub.outbox import outbox_enqueue_many, outbox_pending_above
from pubsub.queue_depth import QueueDepth
from users.models import User, UserResyncJob
from users.sync_payload import USER_SNAPSHOT, user_message_body

logger = logging.getLogger(__name__)

Scope = UserResyncJob.Scope
Status = UserResyncJob.Status
# ids a job may name one by one; more is a range's job
MAX_IDS = 10_000


def _resync_queue_check(queue: str) -> None:
    # only a queue this deployment publishes its users to: a resync is no way to send them elsewhere
    if queue not in settings.USER_SYNC_QUEUES:
        raise ValidationError(
            f"{queue!r} is not one of this deployment's user sync queues (USER_SYNC_QUEUES: "
            f"{', '.join(settings.USER_SYNC_QUEUES)})"
        )


def _ranges_clean(ranges) -> list[list[int]]:
    cleaned = []
    for pair in ranges:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(end, int) and not isinstance(end, bool) for end in pair)
            or not 0 <= pair[0] <= pair[1] < 2**63
        ):
            raise ValidationError(f"a range is [first id, last id] with 0 <= first <= last: {str(pair)[:80]}")
        cleaned.append([pair[0], pair[1]])
    if not cleaned:
        raise ValidationError("no range given")
    return cleaned


def user_resync_job_create(
    *,
    queue: str,
    scope: str,
    since: datetime | None = None,
    ids=(),
    ranges=(),
    requested_by: User | None = None,
    requested_for: str = "",
    background: bool = True,
) -> UserResyncJob:
    """Record a resync job and, unless `background` is off (the command runs it itself), queue the
    background task that runs it. Refuses (ValidationError) a queue this deployment does not
    publish to or a scope without what it needs."""
    _resync_queue_check(queue)
    job = UserResyncJob(queue=queue, scope=scope, requested_by=requested_by, requested_for=requested_for[:255])
    if scope == Scope.SINCE:
        if since is None:
            raise ValidationError("a resync of the users changed since a date needs the date")
        job.since = since
    elif scope == Scope.IDS:
        job.ids = sorted({int(pk) for pk in ids})
        if not job.ids:
            raise ValidationError("no user selected")
        if len(job.ids) > MAX_IDS:
            raise ValidationError(f"at most {MAX_IDS} users by id; resync a range or all of them instead")
    elif scope == Scope.RANGES:
        job.ids = _ranges_clean(ranges)
    elif scope != Scope.ALL:
        raise ValidationError(f"unknown resync scope {str(scope)[:40]!r}")
    job.total = user_resync_users(job=job).count()
    with transaction.atomic():
        job.save()
        if background:
            # users.tasks imports this module for the task's body
            from users.tasks import resync_users

            resync_users(job.pk, verbose_name=f"user resync #{job.pk}", creator=requested_by)
    logger.info("resync #%s to %s queued: %s users (%s)", job.pk, queue, job.total, job.get_scope_display())
    return job


def user_resync_users(*, job: UserResyncJob) -> QuerySet:
    """The users in the job's scope, soft-deleted ones too: their snapshot deletes them there."""
    users = User.objects.all()
    if job.scope == Scope.SINCE:
        return users.filter(updated_at__gte=job.since)
    if job.scope == Scope.IDS:
        return users.filter(pk__in=job.ids)
    if job.scope == Scope.RANGES:
        in_ranges = Q()
        for first, last in job.ids:
            in_ranges |= Q(pk__gte=first, pk__lte=last)
        return users.filter(in_ranges)
    return users


def user_resync_job_cancel(*, job: UserResyncJob) -> bool:
    """Ask a queued or running job to stop after its current batch; False if it had ended."""
    return bool(
        UserResyncJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
            cancel_requested=True
        )
    )


def _backlog_above_bounds(*, queue: str, depth: QueueDepth) -> bool:
    outbox_limit = settings.USER_RESYNC_OUTBOX_BACKLOG_MAX
    if outbox_limit > 0 and outbox_pending_above(limit=outbox_limit):
        return True
    queue_limit = settings.USER_RESYNC_QUEUE_DEPTH_MAX
    if queue_limit <= 0:
        return False
    try:
        return depth.ready(queue) > queue_limit
    except BrokerUnavailable as exc:
        # nothing is published meanwhile either: wait for the broker as the relay does
        logger.warning("resync waits for RabbitMQ: %s", exc)
        return True


def _wait_for_backlog(*, job_id: int, queue: str, depth: QueueDepth, wait: Callable[[float], None]) -> bool:
    """Wait while the outbox or the queue hold more than their bound; False if the job was
    cancelled meanwhile."""
    while _backlog_above_bounds(queue=queue, depth=depth):
        if UserResyncJob.objects.filter(pk=job_id, cancel_requested=True).exists():
            return False
        wait(settings.USER_RESYNC_WAIT_SECS)
    return True


def _enqueue_batch(*, job: UserResyncJob, route: Route) -> int:
    """One transaction: lock the next batch of users after the cursor, enqueue their snapshots,
    move the cursor. Returns how many were enqueued (0: the job is through)."""
    with transaction.atomic():
        ids = list(
            user_resync_users(job=job)
            .filter(pk__gt=job.cursor)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)[: settings.USER_RESYNC_BATCH_SIZE]
        )
        if not ids:
            return 0
        users = User.objects.filter(pk__in=ids).select_related("class_teacher").order_by("pk")
        bodies = [user_message_body(user=user, message_type=USER_SNAPSHOT) for user in users]
        outbox_enqueue_many(route=route, bodies=bodies, message_type=USER_SNAPSHOT)
        UserResyncJob.objects.filter(pk=job.pk).update(cursor=ids[-1], enqueued=F("enqueued") + len(bodies))
    job.cursor = ids[-1]
    job.enqueued += len(bodies)
    return len(bodies)


def user_resync_job_run(
    *,
    job_id: int,
    on_progress: Callable[[UserResyncJob], None] | None = None,
    wait: Callable[[float], None] = time.sleep,
) -> UserResyncJob | None:
    """Run (or resume, from its cursor) a queued or running job until every snapshot is in the
    outbox, it is cancelled, or it fails. None if there is no such job to run."""
    claimed = UserResyncJob.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.RUNNING, error=""
    )
    if not claimed:
        return None
    UserResyncJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=timezone.now())
    job = UserResyncJob.objects.get(pk=job_id)
    route = Route.for_queue(job.queue, settings.USER_SYNC_EXCHANGE)
    depth = QueueDepth()
    try:
        while True:
            if UserResyncJob.objects.filter(pk=job_id, cancel_requested=True).exists():
                job.status = Status.CANCELLED
                break
            if not _wait_for_backlog(job_id=job_id, queue=job.queue, depth=depth, wait=wait):
                continue  # cancelled while waiting: the check above ends it
            if not _enqueue_batch(job=job, route=route):
                job.status = Status.DONE
                break
            if on_progress is not None:
                on_progress(job)
    except Exception as exc:
        job.status, job.error = Status.FAILED, f"{type(exc).__name__}: {exc}"
        logger.exception("resync #%s failed after %s snapshots", job_id, job.enqueued)
    finally:
        depth.close()
    job.finished_at = timezone.now()
    # saved through the model (not update()): auditlog records how the job ended
    job.save(update_fields=["status", "error", "finished_at"])
    logger.info("resync #%s %s: %s of %s snapshots enqueued", job_id, job.status, job.enqueued, job.total)
    return job


def user_resync_job_resume(*, job: UserResyncJob) -> bool:
    """Queue a failed or interrupted job again; it goes on from its cursor."""
    if job.status not in (Status.FAILED, Status.RUNNING):
        return False
    with transaction.atomic():
        UserResyncJob.objects.filter(pk=job.pk).update(status=Status.QUEUED, finished_at=None)
        from users.tasks import resync_users

        resync_users(job.pk, verbose_name=f"user resync #{job.pk} (resumed)", creator=job.requested_by)
    return True
