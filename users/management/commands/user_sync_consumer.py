from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from pubsub.daemon import configure_daemon_logging
from users.sync_consumer import UserSyncConsumer


class Command(BaseCommand):
    help = "Apply user.created / user.updated messages from other deployments. Runs until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="consume until the queues are empty, then exit")

    def handle(self, *args, once=False, **options):
        configure_daemon_logging("user_sync_consumer")
        try:
            consumer = UserSyncConsumer(once=once)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        consumer.install_signal_handlers()
        consumer.run()
        self.stdout.write(f"user_sync_consumer: handled {consumer.processed}, rejected {consumer.failed}")
