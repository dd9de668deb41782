"""Two dj_tasks_scheduler processes: one leads and runs the tasks, the other stands by; the leader
SIGKILLed, the other takes over once the lease has run out, and no two ran tasks at once."""

import time

import pytest

from scheduler.leadership import scheduler_leader
from tests.support.daemons import wait_until

pytestmark = [pytest.mark.mariadb, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

LEASE_SECS = 3


def runs(probe_file) -> list[tuple[int, float, float | None]]:
    """(pid, start, end or None) of each run of the probe task, in the order they started."""
    started: dict[int, float] = {}
    finished = []
    for line in probe_file.read_text().splitlines() if probe_file.exists() else []:
        what, pid, at = line.split()
        if what == "start":
            started[int(pid)] = float(at)
        else:
            finished.append((int(pid), started.pop(int(pid)), float(at)))
    return sorted(finished + [(pid, start, None) for pid, start in started.items()], key=lambda run: run[1])


def runs_by(probe_file, pid: int, *, after: float = 0.0) -> int:
    return sum(1 for run_pid, start, end in runs(probe_file) if run_pid == pid and start >= after and end)


def test_the_leader_killed_another_scheduler_takes_over_and_no_two_run_tasks_at_once(
    deployment_a, daemons, tmp_path, figures
):
    probe_file = tmp_path / "runs.log"
    env = deployment_a.env(
        SCHEDULER_LEASE_SECS=LEASE_SECS,
        SCHEDULER_REGISTERED_TASKS="scheduler.tests.leader_probe.PROBE_TASKS",
        LEADER_PROBE_FILE=probe_file,
    )
    schedulers = [daemons.start("dj_tasks_scheduler", "--sleep", "0.1", env=env, label=f"s{n}") for n in (1, 2)]
    by_pid = {scheduler.pid: scheduler for scheduler in schedulers}

    leader = wait_until(scheduler_leader, timeout=60, watch=schedulers, message="a scheduler leading")
    first = by_pid[leader.pid]
    standby = next(s for s in schedulers if s is not first)
    wait_until(
        lambda: runs_by(probe_file, first.pid) >= 2, timeout=60, watch=schedulers, message="2 runs by the leader"
    )
    assert runs_by(probe_file, standby.pid) == 0, "the standby scheduler ran a task"

    first.kill()
    killed_at = time.time()
    taken = wait_until(
        lambda: (leader := scheduler_leader()) and leader.pid == standby.pid and leader,
        timeout=LEASE_SECS * 10,
        interval=0.05,
        watch=[standby],
        message=lambda: f"the standby leading (leader: {scheduler_leader()})",
    )
    took_over_in = time.time() - killed_at
    wait_until(
        lambda: runs_by(probe_file, standby.pid, after=killed_at) >= 2,
        timeout=60,
        watch=[standby],
        message="2 runs by the new leader",
    )
    assert standby.stop() == 0, standby.output()[-3000:]

    every_run = runs(probe_file)
    for (pid, _start, end), (next_pid, next_start, _) in zip(every_run, every_run[1:], strict=False):
        # the killed leader's last run ends (at the latest) when it was killed
        assert next_start >= (end or killed_at), f"{pid} and {next_pid} ran tasks at once"
    assert all(start < killed_at for pid, start, _ in every_run if pid == first.pid)
    assert taken.host
    figures("lease (s)", LEASE_SECS)
    figures("takeover after the leader's SIGKILL (s)", round(took_over_in, 2))
    figures("probe task runs", len(every_run))
