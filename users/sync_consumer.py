"""The user_sync_consumer daemon: applies user messages from other deployments."""

import logging

from django.conf import settings
from django.db import transaction

from pubsub.broker import declare_route
from pubsub.conf import Route
from pubsub.consumer import Delivery, Outcome, QueueConsumer
from users.sync import CONFLICT, PoisonMessage, sync_message_decode, user_sync_apply

logger = logging.getLogger(__name__)


class UserSyncConsumer(QueueConsumer):
    name = "user_sync_consumer"

    def __init__(self, *, once: bool = False, url: str | None = None):
        super().__init__(once=once, url=url)
        self.prefetch = settings.USER_SYNC_PREFETCH

    def queue_names(self) -> list[str]:
        return list(settings.USER_SYNC_CONSUME_QUEUES)

    def declare(self, channel, queue: str) -> None:
        declare_route(channel, Route.for_queue(queue, settings.USER_SYNC_EXCHANGE))

    def handle_batch(self, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes = []
        # one commit per batch; each message is its own savepoint inside user_sync_apply
        with transaction.atomic():
            for delivery in deliveries:
                outcomes.append(self._handle(delivery))
        return outcomes

    def _handle(self, delivery: Delivery) -> Outcome:
        props = delivery.properties
        try:
            message = sync_message_decode(
                body=delivery.body, message_id=props.message_id, headers=props.headers,
                exchange=settings.USER_SYNC_EXCHANGE, queue=delivery.queue,
            )
        except PoisonMessage as exc:
            return Outcome.rejected(str(exc))
        outcome = user_sync_apply(message=message)
        if outcome == CONFLICT:
            logger.warning("message %s (%s) logged as a sync conflict", message.message_id, message.type)
        return Outcome.accepted()
