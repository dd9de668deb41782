"""The pubsub app's recurring housekeeping (registered in project/registered_tasks.py)."""

import logging

from background_task import background
from django.conf import settings

from pubsub.heartbeat import heartbeat_purge_stale
from pubsub.outbox import outbox_purge_expired

logger = logging.getLogger(__name__)


@background
def purge_published_outbox():
    deleted = outbox_purge_expired()
    if deleted is not None:
        logger.info("purged %d published outbox rows older than %d days", deleted, settings.OUTBOX_RETENTION_DAYS)


@background
def purge_stale_heartbeats():
    deleted = heartbeat_purge_stale()
    if deleted:
        logger.info(
            "purged %d heartbeat rows of processes gone for %d days", deleted, settings.HEARTBEAT_RETENTION_DAYS
        )
