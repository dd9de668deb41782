"""A recurring task that writes when it starts and ends, by which process, to LEADER_PROBE_FILE:
the scheduler election test reads it to see that no two schedulers ran tasks at once."""

import os
import time

from background_task import background

from scheduler.registry import RecurringTask


@background(name="scheduler.tests.leader_probe.record_run")
def record_run():
    with open(os.environ["LEADER_PROBE_FILE"], "a") as log:
        log.write(f"start {os.getpid()} {time.time():.6f}\n")
        log.flush()
        time.sleep(0.3)
        log.write(f"end {os.getpid()} {time.time():.6f}\n")


PROBE_TASKS = [RecurringTask(record_run, every_secs=1)]
