from django.core.management.base import BaseCommand

from pubsub.daemon import configure_daemon_logging
from pubsub.producer import ProducerService


class Command(BaseCommand):
    help = "Relay the outbox (QueuePublishHistory) to RabbitMQ. Runs until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="publish what is due, then exit")
        parser.add_argument("--batch-size", type=int, default=None, help="rows per claimed batch")

    def handle(self, *args, once=False, batch_size=None, **options):
        configure_daemon_logging("producer_service")
        service = ProducerService(once=once, batch_size=batch_size)
        service.install_signal_handlers()
        service.run()
        self.stdout.write(f"producer_service: published {service.processed}, failed {service.failed}")
