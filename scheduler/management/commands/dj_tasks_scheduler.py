import signal
import threading

from background_task.management.commands.process_tasks import Command as ProcessTasksCommand

from common.daemons import daemon_spec
from scheduler.registry import recurring_tasks_register, registered_tasks
from scheduler.services import SCHEDULER_NAME, scheduler_heartbeat_beat


class Command(ProcessTasksCommand):
    help = (
        f"{daemon_spec(SCHEDULER_NAME).summary} Registers the recurring tasks (replacing those of the previous "
        "start), then runs due tasks (background_task's process_tasks, whose options it takes) "
        "until SIGTERM/SIGINT, or for --duration seconds."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--register-only", action="store_true", help="register the recurring tasks, then exit")

    def handle(self, *args, register_only=False, **options):
        for task in recurring_tasks_register(recurring=registered_tasks()):
            self.stdout.write(f"registered {task}: every {task.repeat}s from {task.run_at:%Y-%m-%d %H:%M:%S}")
        if register_only:
            return
        scheduler_heartbeat_beat(state="running")
        try:
            super().handle(*args, **options)
        finally:
            scheduler_heartbeat_beat(state="stopped")

    def run(self, *args, **options):
        # process_tasks stops between tasks only on SIGTSTP; make SIGTERM/SIGINT do the same
        # instead of killing a task halfway
        if threading.current_thread() is not threading.main_thread():
            return super().run(*args, **options)
        previous = {
            sig: signal.signal(sig, self.sig_manager.exit_gracefully) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            super().run(*args, **options)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
