"""Starting, cancelling and resuming resync jobs (the admin, the command, a receiver's request);
the job's own work is users.services.resync's, run by the background task users.tasks.resync_users."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from users.models import User, UserResyncJob
from users.services.resync import user_resync_users
from users.sync_control import ResyncRequest
from users.tasks import resync_users

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
            resync_users(job.pk, verbose_name=f"user resync #{job.pk}", creator=requested_by)
    logger.info("resync #%s to %s queued: %s users (%s)", job.pk, queue, job.total, job.get_scope_display())
    return job


def user_resync_job_cancel(*, job: UserResyncJob) -> bool:
    """Ask a queued or running job to stop after its current batch; False if it had ended."""
    return bool(
        UserResyncJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
            cancel_requested=True
        )
    )


def user_resync_job_resume(*, job: UserResyncJob) -> bool:
    """Queue a failed or interrupted job again; it goes on from its cursor."""
    if job.status not in (Status.FAILED, Status.RUNNING):
        return False
    with transaction.atomic():
        UserResyncJob.objects.filter(pk=job.pk).update(status=Status.QUEUED, finished_at=None)
        resync_users(job.pk, verbose_name=f"user resync #{job.pk} (resumed)", creator=job.requested_by)
    return True


def sync_resync_request_handle(*, request: ResyncRequest) -> UserResyncJob | None:
    """A receiver asks this deployment to resync ranges of its users: start the job, unless the
    request is for another deployment or a queue this one does not send to (logged, not applied)."""
    if request.target != settings.DEPLOYMENT_NAME:
        logger.warning(
            "resync request %s from %s is for %s, not this deployment: ignored",
            request.message_id,
            request.source,
            request.target,
        )
        return None
    try:
        job = user_resync_job_create(
            queue=request.queue,
            scope=UserResyncJob.Scope.RANGES,
            ranges=request.ranges,
            requested_for=request.source,
        )
    except ValidationError as exc:
        logger.warning(
            "resync request %s from %s refused: %s", request.message_id, request.source, "; ".join(exc.messages)
        )
        return None
    logger.info(
        "resync #%s of %d range(s) to %s started for %s", job.pk, len(request.ranges), request.queue, request.source
    )
    return job
