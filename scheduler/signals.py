"""Receivers of background_task's signals: count outcomes, keep failed recurring tasks recurring."""

from background_task.signals import task_error, task_failed, task_successful

from scheduler.services import recurring_task_reschedule_failed, task_counters


def _on_success(**kwargs) -> None:
    task_counters.count(succeeded=True)


def _on_error(**kwargs) -> None:
    task_counters.count(succeeded=False)


def _on_failed_for_good(*, completed_task, **kwargs) -> None:
    recurring_task_reschedule_failed(completed_task=completed_task)


def connect() -> None:
    task_successful.connect(_on_success, dispatch_uid="scheduler_count_success")
    task_error.connect(_on_error, dispatch_uid="scheduler_count_error")
    task_failed.connect(_on_failed_for_good, dispatch_uid="scheduler_reschedule_failed")
