"""The deadletter_consumer daemon: dead-lettered messages mark their outbox row expired."""

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pubsub.broker import declare_deadletter
from pubsub.conf import Route, user_sync_routes
from pubsub.consumer import Delivery, Outcome, QueueConsumer
from pubsub.models import QueuePublishHistory
from pubsub.relay import next_attempt_after_failure

logger = logging.getLogger(__name__)
Status = QueuePublishHistory.Status
# reasons after which the relay may publish again (within OUTBOX_MAX_ATTEMPTS); a rejection is final
REPUBLISHABLE_REASONS = {"expired"}


def deadletter_reason(properties) -> str:
    """The x-death reason RabbitMQ records: expired, rejected, maxlen or delivery_limit."""
    deaths = (properties.headers or {}).get("x-death") or []
    if deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason")
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        if reason:
            return str(reason)[:64]
    return "unknown"


def outbox_mark_deadlettered(*, message_id: uuid.UUID, reason: str) -> bool:
    """Mark the row expired with the broker's reason. A TTL expiry stays due for a bounded
    republish; anything else waits for a person. Returns False when the message is not ours."""
    row = QueuePublishHistory.objects.filter(message_id=message_id).only("pk", "attempts").first()
    if row is None:
        return False
    now = timezone.now()
    next_attempt = (
        next_attempt_after_failure(attempts=row.attempts, now=now) if reason in REPUBLISHABLE_REASONS else None
    )
    QueuePublishHistory.objects.filter(pk=row.pk).update(
        status=Status.EXPIRED, expired_reason=reason, next_attempt_at=next_attempt,
        claimed_by="", claimed_until=None, updated_at=now,
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

    def declare(self, channel, queue: str) -> None:
        route = self._dlx_by_queue.get(queue)
        if route is not None:
            declare_deadletter(channel, route)
        else:
            channel.queue_declare(queue, durable=True)

    def handle_batch(self, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes = []
        with transaction.atomic():
            for delivery in deliveries:
                outcomes.append(self._handle(delivery))
        return outcomes

    def _handle(self, delivery: Delivery) -> Outcome:
        reason = deadletter_reason(delivery.properties)
        try:
            message_id = uuid.UUID(str(delivery.properties.message_id))
        except ValueError:
            logger.warning("dead letter without a valid message_id in %s (reason %s): dropped", delivery.queue, reason)
            return Outcome.accepted()
        if outbox_mark_deadlettered(message_id=message_id, reason=reason):
            logger.info("message %s dead-lettered (%s): marked expired", message_id, reason)
        else:
            logger.warning("dead letter %s (%s) is not in this outbox: dropped", message_id, reason)
        return Outcome.accepted()
