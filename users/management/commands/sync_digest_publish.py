from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.services.drift import sync_digest_publish


class Command(BaseCommand):
    help = (
        "Enqueue this deployment's digest of its users (sync.digest) on a user sync queue, where its "
        "receivers compare it with what they hold and record the ranges that drifted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queue", required=True, help="the receivers' queue (one of USER_SYNC_QUEUES)")

    def handle(self, *args, queue, **options):
        try:
            row = sync_digest_publish(queue=queue)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        ranges = row.message_body_json["ranges"]
        users = sum(item["count"] for item in ranges)
        self.stdout.write(f"digest of {users} users in {len(ranges)} range(s) enqueued for {queue} ({row.message_id})")
