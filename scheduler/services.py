"""The scheduler process's own bookkeeping: its heartbeat, its counters, and keeping recurring
tasks recurring."""

import json
import os
import socket
import threading
from datetime import datetime, timedelta

from background_task.models import CompletedTask, Task
from django.utils import timezone

from project.batching import delete_in_batches
from pubsub.heartbeat import heartbeat_beat

SCHEDULER_NAME = "dj_tasks_scheduler"


class TaskCounters:
    """Tasks run by this process, for its heartbeat row (fed by background_task's signals)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.succeeded = 0
        self.failed = 0

    def count(self, *, succeeded: bool) -> None:
        with self._lock:
            if succeeded:
                self.succeeded += 1
            else:
                self.failed += 1


task_counters = TaskCounters()


def scheduler_heartbeat_beat(*, state: str) -> None:
    heartbeat_beat(
        name=SCHEDULER_NAME,
        worker_id=f"{SCHEDULER_NAME}@{socket.gethostname()}:{os.getpid()}",
        state=state,
        processed=task_counters.succeeded,
        failed=task_counters.failed,
    )


def recurring_task_reschedule_failed(*, completed_task: CompletedTask) -> Task | None:
    """background_task drops a task for good once it has used up its attempts, recurring or not.
    A recurring one is scheduled again for its next period, so a bad day does not stop it."""
    if completed_task.repeat <= Task.NEVER:
        return None
    now = timezone.now()
    if completed_task.repeat_until and completed_task.repeat_until <= now:
        return None
    args, kwargs = json.loads(completed_task.task_params)
    task = Task.objects.new_task(
        task_name=completed_task.task_name, args=args, kwargs=kwargs,
        run_at=now + timedelta(seconds=completed_task.repeat), priority=completed_task.priority,
        queue=completed_task.queue, verbose_name=completed_task.verbose_name,
        repeat=completed_task.repeat, repeat_until=completed_task.repeat_until,
    )
    task.save()
    return task


def completed_tasks_purge(*, older_than: datetime, batch_size: int) -> int:
    """Delete the records of tasks finished (succeeded or failed) before `older_than`: every run
    of a recurring task leaves one."""
    return delete_in_batches(CompletedTask.objects.filter(run_at__lt=older_than), batch_size=batch_size)
