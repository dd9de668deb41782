import signal

import pytest
from background_task import background

from scheduler.services import task_counters
from scheduler.tests.failing import always_fails  # noqa: F401 - registers the task with background_task


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """process_tasks installs process-wide handlers (SIGTSTP, SIGUSR1, SIGUSR2) and never puts the
    old ones back; the test process keeps its own."""
    signals = (signal.SIGTSTP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT)
    saved = {sig: signal.getsignal(sig) for sig in signals}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def _fresh_task_counters(monkeypatch):
    # the counters are per process, and every test runs in this one
    monkeypatch.setattr(task_counters, "succeeded", 0)
    monkeypatch.setattr(task_counters, "failed", 0)


@pytest.fixture
def one_off_task():
    """A task that records its runs, queued once (not recurring)."""
    runs = []

    @background(name="scheduler.tests.records_runs")
    def records_runs():
        runs.append("ran")

    records_runs()
    return runs
