"""The recurring tasks `manage.py dj_tasks_scheduler` registers at each start (replacing the ones
of the previous start). Each app keeps its tasks in its tasks.py."""

from background_task.models import Task
from django.conf import settings

from pubsub.tasks import purge_published_outbox, purge_stale_heartbeats
from scheduler.registry import RecurringTask
from scheduler.tasks import purge_completed_tasks, scheduler_heartbeat
from users.tasks import (
    flush_expired_tokens,
    publish_sync_digests,
    purge_old_api_hits,
    purge_old_login_logs,
    purge_stale_user_import_files,
)

REGISTERED_TASKS = [
    RecurringTask(
        scheduler_heartbeat, every_secs=settings.SCHEDULER_HEARTBEAT_SECS, verbose_name="scheduler heartbeat"
    ),
    RecurringTask(flush_expired_tokens, every_secs=Task.DAILY, verbose_name="flush expired JWT tokens"),
    RecurringTask(purge_old_api_hits, every_secs=Task.DAILY, verbose_name="purge old API hits"),
    RecurringTask(purge_old_login_logs, every_secs=Task.DAILY, verbose_name="purge old login logs"),
    RecurringTask(purge_published_outbox, every_secs=Task.DAILY, verbose_name="purge published outbox rows"),
    RecurringTask(
        purge_stale_heartbeats, every_secs=Task.DAILY, verbose_name="purge heartbeats of processes long gone"
    ),
    RecurringTask(purge_completed_tasks, every_secs=Task.DAILY, verbose_name="purge finished task records"),
    RecurringTask(purge_stale_user_import_files, every_secs=Task.HOURLY, verbose_name="purge stale users import files"),
]
if settings.USER_SYNC_DIGEST_SECS:
    REGISTERED_TASKS.append(
        RecurringTask(
            publish_sync_digests, every_secs=settings.USER_SYNC_DIGEST_SECS, verbose_name="publish sync digests"
        )
    )
