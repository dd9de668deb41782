"""The deadletter_consumer daemon: dead-lettered messages mark their outbox row expired.

A dead letter this outbox has no row for (another sender's, on a shared dead-letter queue, or
one without a UUID message_id) is parked in `<dlq>.unmatched`, intact: acking it would lose it,
rejecting it from a queue without a dead-letter exchange too, and requeueing it would loop.
"""

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pubsub.broker import deadletter_declarations, plain_queue_declaration
from pubsub.conf import Route, user_sync_routes
from pubsub.consumer import Delivery, Outcome, QueueConsumer
from pubsub.models import QueuePublishHistory
from pubsub.relay import next_attempt_after_failure

logger = logging.getLogger(__name__)
Status = QueuePublishHistory.Status
# reasons after which the relay may publish again (within OUTBOX_MAX_ATTEMPTS); a rejection is final
REPUBLISHABLE_REASONS = {"expired"}
UNMATCHED_SUFFIX = ".unmatched"


def deadletter_reason(properties) -> str:
    """The x-death reason RabbitMQ records: expired, rejected, maxlen or delivery_limit. Headers
    anyone could have set: whatever their shape, the answer is a short string, "unknown" at worst."""
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    deaths = headers.get("x-death")
    latest = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    for reason in (latest.get("reason"), headers.get("x-first-death-reason")):
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        if isinstance(reason, str) and reason.strip():
            return reason.strip()[:64]
    return "unknown"


def unmatched_queue(deadletter_queue: str) -> str:
    return f"{deadletter_queue}{UNMATCHED_SUFFIX}"


def outbox_mark_deadlettered(*, message_id: uuid.UUID, reason: str) -> bool:
    """Mark the row expired with the broker's reason. A TTL expiry stays due for a bounded
    republish; anything else waits for a person. Returns False when the message is not ours."""
    row = QueuePublishHistory.objects.filter(message_id=message_id).only("pk", "attempts").first()
    if row is None:
        return False
    now = timezone.now()
    next_attempt = next_attempt_after_failure(attempts=row.attempts) if reason in REPUBLISHABLE_REASONS else None
    QueuePublishHistory.objects.filter(pk=row.pk).update(
        status=Status.EXPIRED,
        expired_reason=reason,
        next_attempt_at=next_attempt,
        claimed_by="",
        claimed_until=None,
        updated_at=now,
    )
    return True


def outbox_deadletter_queues() -> list[str]:
    names = set(QueuePublishHistory.objects.order_by().values_list("deadletter_queue_name", flat=True).distinct())
    names.update(route.deadletter_queue for route in user_sync_routes())
    return sorted(name for name in names if name)


class DeadletterConsumer(QueueConsumer):
    name = "deadletter_consumer"

    def __init__(self, *, once: bool = False, url: str | None = None):
        super().__init__(once=once, url=url)
        self.refresh_secs = float(settings.DEADLETTER_REFRESH_SECS)
        self._dlx_by_queue: dict[str, Route] = {r.deadletter_queue: r for r in user_sync_routes()}

    def queue_names(self) -> list[str]:
        names = outbox_deadletter_queues()
        for dlq in names:
            if dlq in self._dlx_by_queue:
                continue
            route = (
                QueuePublishHistory.objects.filter(deadletter_queue_name=dlq)
                .values_list("queue_name", "exchange_name", "deadletter_queue_name", "deadletter_exchange_name")
                .first()
            )
            if route is not None:
                self._dlx_by_queue[dlq] = Route(*route)
        return names

    def declarations(self, queue: str) -> list[tuple[str, dict]]:
        route = self._dlx_by_queue.get(queue)
        if route is not None:
            return deadletter_declarations(route)
        return [plain_queue_declaration(queue)]

    def handle_batch(self, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes = []
        with transaction.atomic():
            for delivery in deliveries:
                outcomes.append(self._handle(delivery))
        return outcomes

    def failed_outcome(self, delivery: Delivery, reason: str) -> Outcome:
        # a dead-letter queue has no dead-letter exchange: a rejection would drop the message
        return Outcome.parked(unmatched_queue(delivery.queue), reason)

    def _handle(self, delivery: Delivery) -> Outcome:
        reason = deadletter_reason(delivery.properties)
        try:
            message_id = uuid.UUID(str(delivery.properties.message_id))
        except ValueError:
            return Outcome.parked(unmatched_queue(delivery.queue), f"no UUID message_id (dead-lettered: {reason})")
        if not outbox_mark_deadlettered(message_id=message_id, reason=reason):
            return Outcome.parked(unmatched_queue(delivery.queue), f"not in this outbox (dead-lettered: {reason})")
        logger.info("message %s dead-lettered (%s): marked expired", message_id, reason)
        return Outcome.accepted()
