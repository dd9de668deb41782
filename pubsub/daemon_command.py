"""The management command every worker daemon shares: build the worker its registry entry
(common.daemons) names, stop gracefully on SIGTERM/SIGINT, run, say what it did.

The log file is chosen by the settings (LOG_FILE: `<name>.log` when manage.py runs a registered
daemon), so a worker run --once from an admin button or a test logs where its caller does."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from common.daemons import daemon_spec


class DaemonCommand(BaseCommand):
    # the registry name of the daemon this command runs
    daemon_name = ""
    once_help = "do what there is to do, then exit"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = daemon_spec(self.daemon_name)
        self.help = self.spec.summary

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=self.once_help)

    def worker_options(self, options: dict) -> dict:
        """Keyword arguments for the worker beyond `once`, from this command's own options."""
        return {}

    def handle(self, *args, once=False, **options):
        try:
            worker = import_string(self.spec.worker)(once=once, **self.worker_options(options))
        except ImproperlyConfigured as exc:
            # a worker that refuses its configuration says why, without a traceback
            raise CommandError(str(exc)) from None
        worker.install_signal_handlers()
        worker.run()
        done, failed = worker.outcome_words
        self.stdout.write(f"{self.spec.name}: {done} {worker.processed}, {failed} {worker.failed}")
