"""The users app's background tasks: recurring housekeeping (registered in
project/registered_tasks.py) the admin's users imports and resyncs."""

import logging
from datetime import timedelta

from background_task import background
from django.conf import settings
from django.utils import timezone

from scheduler.registry import long_running
from users.api_hits import api_hits_purge_expired
from users.login_lockout import login_logs_purge_expired
from users.services.drift import sync_digests_publish_all
from users.services.imports import user_import_files_purge_stale, user_import_job_run
from users.services.resync import user_resync_job_run
from users.services.tokens import tokens_flush_expired

logger = logging.getLogger(__name__)


@background
def flush_expired_tokens():
    deleted = tokens_flush_expired(batch_size=settings.HOUSEKEEPING_BATCH_SIZE)
    logger.info("flushed %d expired refresh tokens", deleted)


@background
def purge_old_api_hits():
    deleted = api_hits_purge_expired()
    if deleted is not None:
        logger.info("purged %d API hits older than %d days", deleted, settings.API_HIT_RETENTION_DAYS)


@background
def purge_old_login_logs():
    deleted = login_logs_purge_expired()
    if deleted is not None:
        logger.info("purged %d login log rows older than %d days", deleted, settings.LOGIN_LOG_RETENTION_DAYS)


# minutes to hours (hashing every password): never inside a web request
@long_running
@background
def import_users(job_id):
    """A confirmed admin users import (queued by user_import_job_create)."""
    job = user_import_job_run(job_id=job_id)
    if job is not None:
        logger.info("user import #%s %s: %s of %s rows", job.pk, job.status, job.processed, job.total)


# as long as the outbox takes to publish every user: only in the scheduler
@long_running
@background
def resync_users(job_id):
    """A resync job (queued by user_resync_job_create); a rerun after a crash resumes it."""
    job = user_resync_job_run(job_id=job_id)
    if job is not None:
        logger.info("user resync #%s %s: %s of %s snapshots", job.pk, job.status, job.enqueued, job.total)


@background
def publish_sync_digests():
    rows = sync_digests_publish_all()
    logger.info("sync digest enqueued for %d queue(s)", len(rows))


@background
def purge_stale_user_import_files():
    older_than = timezone.now() - timedelta(seconds=settings.USER_IMPORT_FILE_MAX_AGE_SECS)
    deleted = user_import_files_purge_stale(older_than=older_than)
    if deleted:
        logger.info("deleted %d stale users import files (previews never confirmed, files no job holds)", deleted)
