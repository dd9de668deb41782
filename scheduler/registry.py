"""Which tasks recur, which are too long to run anywhere but in the scheduler, and (re)registering
the recurring ones with background_task at each scheduler start."""

from dataclasses import dataclass

from background_task.models import Task
from background_task.tasks import TaskProxy
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class RecurringTask:
    task: TaskProxy
    every_secs: int
    verbose_name: str = ""


# names of the tasks too long for a web request: only a scheduler runs them (the dashboard's
# "Run due scheduled tasks now" leaves them); filled by @long_running where each task is defined
LONG_RUNNING_TASK_NAMES: set[str] = set()


def long_running(task: TaskProxy) -> TaskProxy:
    """Mark a background task as one that only dj_tasks_scheduler runs."""
    LONG_RUNNING_TASK_NAMES.add(task.name)
    return task


def registered_tasks() -> list[RecurringTask]:
    """The recurring tasks this deployment runs (SCHEDULER_REGISTERED_TASKS)."""
    return list(import_string(settings.SCHEDULER_REGISTERED_TASKS))


def recurring_tasks_register(*, recurring: list[RecurringTask]) -> list[Task]:
    """Replace the recurring tasks a previous start registered by `recurring`, each due at once
    and then every `every_secs`. One-off tasks queued meanwhile stay."""
    with transaction.atomic():
        Task.objects.filter(repeat__gt=Task.NEVER).delete()
        return [each.task(repeat=each.every_secs, verbose_name=each.verbose_name or None) for each in recurring]
