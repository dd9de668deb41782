"""The pubsub app's recurring housekeeping (registered in project/registered_tasks.py)."""

import logging
from datetime import timedelta

from background_task import background
from django.conf import settings
from django.utils import timezone

from pubsub.outbox import outbox_purge_published

logger = logging.getLogger(__name__)


@background
def purge_published_outbox():
    if not settings.OUTBOX_RETENTION_DAYS:
        return
    older_than = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    deleted = outbox_purge_published(older_than=older_than, batch_size=settings.HOUSEKEEPING_BATCH_SIZE)
    logger.info("purged %d published outbox rows older than %d days", deleted, settings.OUTBOX_RETENTION_DAYS)
