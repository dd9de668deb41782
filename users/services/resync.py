"""Resync (the sending side of drift repair): one `user.snapshot` message per user in a job's scope,
enqueued through the outbox in batches, resumable from the job's cursor, cancellable, and yielding
to live changes. Live messages take the same outbox and the same queue as snapshots, first come
first served; so before each batch the job waits while more than USER_RESYNC_OUTBOX_BACKLOG_MAX
rows wait in the outbox or more than USER_RESYNC_QUEUE_DEPTH_MAX messages in the receivers' queue:
a live change queues behind those bounds and the consumer's prefetch, however big the resync
(bench/resync.py measures what that costs it).

The snapshot's version is its own outbox row's id, as every message's is: the batch locks its
users before reading them and inserts the rows after, so a live change of one of them either
committed before (its row's id is lower: the snapshot holds its state, and a late delivery of it
is stale) or starts after (its id is higher: it wins over the snapshot)."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
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
