"""The scheduler process's own bookkeeping: its heartbeat, its counters, and keeping recurring
tasks recurring."""

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from background_task.models import CompletedTask, Task
from background_task.signals import task_error
from background_task.tasks import autodiscover, tasks
from django.utils import timezone

from common.batching import delete_in_batches
from pubsub.heartbeat import heartbeat_beat
from scheduler.registry import LONG_RUNNING_TASK_NAMES

# its name in common.daemons
SCHEDULER_NAME = "dj_tasks_scheduler"
# the scheduler's liveness: run anywhere else it would report a scheduler that isn't running
HEARTBEAT_TASK_NAME = "scheduler.tasks.scheduler_heartbeat"


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
        task_name=completed_task.task_name,
        args=args,
        kwargs=kwargs,
        run_at=now + timedelta(seconds=completed_task.repeat),
        priority=completed_task.priority,
        queue=completed_task.queue,
        verbose_name=completed_task.verbose_name,
        repeat=completed_task.repeat,
        repeat_until=completed_task.repeat_until,
    )
    task.save()
    return task


def completed_tasks_purge(*, older_than: datetime, batch_size: int) -> int:
    """Delete the records of tasks finished (succeeded or failed) before `older_than`: every run
    of a recurring task leaves one."""
    return delete_in_batches(CompletedTask.objects.filter(run_at__lt=older_than), batch_size=batch_size)


def tasks_run_now(*, queryset) -> int:
    """Make the selected waiting tasks due now (the scheduler picks them up on its next poll).
    Tasks a runner holds right now, or that failed for good, are left alone. One UPDATE."""
    return queryset.filter(locked_by__isnull=True, failed_at__isnull=True).update(run_at=timezone.now())


@dataclass(frozen=True)
class DueTasksRun:
    ran: int
    failed: int
    left: int  # still due when the run stopped at its bound
    # due tasks marked @long_running, left to the scheduler (their verbose names)
    left_to_scheduler: tuple[str, ...] = ()


def tasks_run_due(*, limit: int, max_secs: float) -> DueTasksRun:
    """Run the scheduled tasks that are due, one by one in this process as dj_tasks_scheduler
    would (locked, so a running scheduler never runs the same one), starting none after `limit`
    tasks or `max_secs` seconds. A task that raises is rescheduled by background_task as usual.
    Long-running tasks (an import job) are left to the scheduler: the caller is a web request."""
    autodiscover()
    errors = []

    def on_error(**kwargs):
        errors.append(kwargs.get("task"))

    task_error.connect(on_error, dispatch_uid="scheduler_tasks_run_due", weak=False)
    worker_name = str(os.getpid())
    deadline = time.monotonic() + max_secs
    ran = 0
    try:
        while ran < limit and time.monotonic() < deadline:
            task = _next_due_task(worker_name=worker_name)
            if task is None:
                break
            tasks.run_task(task)
            ran += 1
    finally:
        task_error.disconnect(dispatch_uid="scheduler_tasks_run_due")
    left_to_scheduler = tuple(
        task.verbose_name or task.task_name
        for task in Task.objects.find_available()
        if task.task_name in LONG_RUNNING_TASK_NAMES
    )
    return DueTasksRun(ran=ran, failed=len(errors), left=len(_due_tasks()), left_to_scheduler=left_to_scheduler)


def _due_tasks() -> list[Task]:
    return [
        task
        for task in Task.objects.find_available()
        if task.task_name in tasks._tasks
        and task.task_name != HEARTBEAT_TASK_NAME
        and task.task_name not in LONG_RUNNING_TASK_NAMES
    ]


def _next_due_task(*, worker_name: str) -> Task | None:
    for task in _due_tasks()[:5]:
        locked = task.lock(worker_name)
        if locked:
            return locked
    return None
