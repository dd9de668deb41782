import logging
import os
import random
import signal
import socket
import threading
import time

from background_task.management.commands.process_tasks import Command as ProcessTasksCommand
from background_task.tasks import autodiscover
from django.db import close_old_connections, connection

from common.daemons import daemon_spec
from scheduler.leadership import LeaseKeeper
from scheduler.registry import recurring_tasks_register, registered_tasks
from scheduler.services import SCHEDULER_NAME, scheduler_heartbeat_beat

logger = logging.getLogger(__name__)


class Command(ProcessTasksCommand):
    help = (
        f"{daemon_spec(SCHEDULER_NAME).summary} One or more may run, on any hosts: the one holding the "
        "lease in the database runs due tasks (background_task's process_tasks, whose options it takes), "
        "registering the recurring tasks (replacing those of the previous leader) each time it takes the "
        "lead; the others stand by. Runs until SIGTERM/SIGINT, or for --duration seconds."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--register-only", action="store_true", help="register the recurring tasks, then exit")

    def handle(self, *args, register_only=False, **options):
        if register_only:
            self._register()
            return
        self.keeper = LeaseKeeper(
            holder=f"{SCHEDULER_NAME}@{socket.gethostname()}:{os.getpid()}",
            host=socket.gethostname(),
            pid=os.getpid(),
            on_beat=lambda leading: scheduler_heartbeat_beat(state="running" if leading else "standby"),
        )
        scheduler_heartbeat_beat(state="starting")
        try:
            super().handle(*args, **options)
        finally:
            scheduler_heartbeat_beat(state="stopped")

    def _register(self) -> None:
        for task in recurring_tasks_register(recurring=registered_tasks()):
            self.stdout.write(f"registered {task}: every {task.repeat}s from {task.run_at:%Y-%m-%d %H:%M:%S}")

    def run(self, *args, **options):
        # process_tasks stops between tasks only on SIGTSTP; make SIGTERM/SIGINT do the same
        # instead of killing a task halfway
        if threading.current_thread() is not threading.main_thread():
            return self._run_while_leading(**options)
        previous = {
            sig: signal.signal(sig, self.sig_manager.exit_gracefully) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._run_while_leading(**options)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run_while_leading(self, *, duration=0, sleep=5.0, queue=None, **options):
        """process_tasks' loop, starting a task only while this process holds the lease."""
        autodiscover()
        keeper, sig_manager = self.keeper, self.sig_manager
        keeper.try_once()  # lead at once if no one else does
        # the lease is renewed on a thread of its own, so that a task longer than the lease keeps
        # it; SQLite takes one writer at a time, so there (one host, development) the loop renews
        # it between tasks
        threaded = connection.vendor != "sqlite"
        if threaded:
            keeper.start()
        registered_term = 0
        started = time.time()
        try:
            while (duration <= 0 or time.time() - started <= duration) and not sig_manager.kill_now:
                if not threaded and keeper.renewal_due():
                    keeper.try_once()
                if not keeper.leading():
                    time.sleep(min(sleep, keeper.lease_secs / 3))
                    continue
                if keeper.terms != registered_term:
                    self._register()
                    registered_term = keeper.terms
                if not self._tasks.run_next_task(queue):
                    close_old_connections()
                    time.sleep(sleep)
                else:
                    time.sleep(random.uniform(*sig_manager.time_to_wait))
        finally:
            keeper.stop(release=True)
