"""Reads of the scheduled tasks that the admin and the dashboard share."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from background_task.models import CompletedTask, Task


@dataclass(frozen=True)
class FailedTask:
    """A task whose last run raised: still being retried (`failed_at` None, `next_attempt_at`
    set) or given up on after its attempts (`failed_at` set)."""

    pk: int
    name: str
    error: str
    attempts: int
    failed_at: datetime | None
    next_attempt_at: datetime | None

    @property
    def gave_up(self) -> bool:
        return self.failed_at is not None

    @property
    def error_summary(self) -> str:
        """The traceback's last line: the exception and its message."""
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


def tasks_failed_recent(*, within: timedelta = timedelta(days=1), limit: int = 50) -> list[FailedTask]:
    """Tasks being retried after an error, then tasks given up on within `within`, newest first."""
    retrying = [
        FailedTask(
            pk=task.pk,
            name=str(task),
            error=task.last_error,
            attempts=task.attempts,
            failed_at=None,
            next_attempt_at=task.run_at,
        )
        for task in Task.objects.exclude(last_error="").order_by("-run_at")[:limit]
    ]
    gave_up = [
        FailedTask(
            pk=task.pk,
            name=task.verbose_name or task.task_name,
            error=task.last_error,
            attempts=task.attempts,
            failed_at=task.failed_at,
            next_attempt_at=None,
        )
        for task in CompletedTask.objects.failed(within=within).order_by("-failed_at")[:limit]
    ]
    return (retrying + gave_up)[:limit]


def tasks_failed_counts(*, within: timedelta = timedelta(days=1)) -> dict[str, int]:
    """How many tasks are being retried after an error, and how many were given up on within `within`."""
    return {
        "retrying": Task.objects.exclude(last_error="").count(),
        "gave_up": CompletedTask.objects.failed(within=within).count(),
    }
