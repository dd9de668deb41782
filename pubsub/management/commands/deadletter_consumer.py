from django.core.management.base import BaseCommand

from pubsub.daemon import configure_daemon_logging
from pubsub.deadletter import DeadletterConsumer


class Command(BaseCommand):
    help = "Mark dead-lettered messages expired in the outbox, with the broker's reason. Runs until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="consume until the queues are empty, then exit")

    def handle(self, *args, once=False, **options):
        configure_daemon_logging("deadletter_consumer")
        consumer = DeadletterConsumer(once=once)
        consumer.install_signal_handlers()
        consumer.run()
        self.stdout.write(f"deadletter_consumer: handled {consumer.processed}, rejected {consumer.failed}")
