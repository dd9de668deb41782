"""The scheduler's own recurring tasks (registered in project/registered_tasks.py)."""

import logging
from datetime import timedelta

from background_task import background
from django.conf import settings
from django.utils import timezone

from scheduler.services import completed_tasks_purge, scheduler_heartbeat_beat

logger = logging.getLogger(__name__)


@background
def scheduler_heartbeat():
    scheduler_heartbeat_beat(state="running")


@background
def purge_completed_tasks():
    if not settings.COMPLETED_TASK_RETENTION_DAYS:
        return
    older_than = timezone.now() - timedelta(days=settings.COMPLETED_TASK_RETENTION_DAYS)
    deleted = completed_tasks_purge(older_than=older_than, batch_size=settings.HOUSEKEEPING_BATCH_SIZE)
    logger.info("purged %d finished task records older than %d days", deleted, settings.COMPLETED_TASK_RETENTION_DAYS)
