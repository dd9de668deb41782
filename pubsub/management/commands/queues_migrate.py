from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pubsub.broker import BrokerUnavailable
from pubsub.queue_migration import QueueMigrationRefused, queues_migrate


class Command(BaseCommand):
    help = (
        "Move this deployment's queues (sync queues, dead-letter queues, parked .unmatched queues) to "
        "RABBITMQ_QUEUE_TYPE without losing a message: each queue that differs is rebuilt through "
        "<queue>.migrating, every message moved with publisher confirms. Stop the relays and consumers "
        "first. Safe to run again after an interruption: it finishes what was begun."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")

    def handle(self, *args, dry_run=False, **options):
        self.stdout.write(f"target: {settings.RABBITMQ_QUEUE_TYPE} queues{' (dry run)' if dry_run else ''}")
        try:
            migrations = queues_migrate(dry_run=dry_run)
        except (BrokerUnavailable, QueueMigrationRefused) as exc:
            raise CommandError(f"{exc} (run the command again to finish)") from exc
        for migration in migrations:
            self.stdout.write(migration.describe())
        refused = [m.queue for m in migrations if m.state == "refused"]
        if refused:
            raise CommandError(f"left alone: {', '.join(refused)}")
