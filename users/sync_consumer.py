"""The user_sync_consumer daemon: applies user messages from other deployments, compares their
digests with what it holds (drift) and starts the resyncs they ask of it."""

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from pubsub.broker import route_declarations
from pubsub.conf import Route
from pubsub.consumer import Delivery, Outcome, QueueConsumer
from users.services.conflicts import sync_conflicts_apply_waiting
from users.services.drift import sync_digest_compare
from users.services.resync_jobs import sync_resync_request_handle
from users.sync_batch import user_sync_apply_batch
from users.sync_control import CONTROL_TYPES, DigestMessage, sync_control_decode
from users.sync_counters import OWN_MESSAGES_SKIPPED, sync_counter_add
from users.sync_message import PoisonMessage, sync_message_decode
from users.sync_rules import APPLIED, CONFLICT, DUPLICATE

logger = logging.getLogger(__name__)


class UserSyncConsumer(QueueConsumer):
    name = "user_sync_consumer"

    def __init__(self, *, once: bool = False, url: str | None = None):
        if settings.DEPLOYMENT_NAME == settings.DEPLOYMENT_NAME_DEFAULT:
            # two deployments on the default would skip each other's messages as their own, silently
            raise ImproperlyConfigured(
                f"user_sync_consumer will not start while DEPLOYMENT_NAME is the default "
                f"{settings.DEPLOYMENT_NAME_DEFAULT!r}: set DEPLOYMENT_NAME in this deployment's environment "
                f"to a name of its own (e.g. DEPLOYMENT_NAME=campus-north), different from every deployment "
                f"it exchanges users with"
            )
        super().__init__(once=once, url=url)
        self.prefetch = settings.USER_SYNC_PREFETCH

    def queue_names(self) -> list[str]:
        return list(settings.USER_SYNC_CONSUME_QUEUES)

    def declarations(self, queue: str) -> list[tuple[str, dict]]:
        return route_declarations(Route.for_queue(queue, settings.USER_SYNC_EXCHANGE))

    def handle_batch(self, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        decoded = []
        controls = []
        for delivery in deliveries:
            props = delivery.properties
            if props.type in CONTROL_TYPES:
                try:
                    controls.append(
                        sync_control_decode(body=delivery.body, message_id=props.message_id, queue=delivery.queue)
                    )
                    outcomes.append(Outcome.accepted())
                except PoisonMessage as exc:
                    outcomes.append(Outcome.rejected(str(exc)))
                continue
            try:
                decoded.append(
                    sync_message_decode(
                        body=delivery.body,
                        message_id=props.message_id,
                        headers=props.headers,
                        exchange=settings.USER_SYNC_EXCHANGE,
                        queue=delivery.queue,
                    )
                )
                outcomes.append(Outcome.accepted())
            except PoisonMessage as exc:
                outcomes.append(Outcome.rejected(str(exc)))
        own = [m for m in decoded if m.source == settings.DEPLOYMENT_NAME]
        if own:
            # a deployment consuming a queue it also publishes to sees its own changes come back
            logger.debug("skipping %d message(s) this deployment sent itself", len(own))
            decoded = [m for m in decoded if m.source != settings.DEPLOYMENT_NAME]
        # one commit for the whole batch; the inbox rows are written in it
        with transaction.atomic():
            results = user_sync_apply_batch(messages=decoded)
            sync_counter_add(name=OWN_MESSAGES_SKIPPED, count=len(own))
        if duplicates := sum(result == DUPLICATE for result in results):
            # a redelivery (its ack was lost with a connection or a broker node): acked, not applied again
            logger.info("%d message(s) already applied here: acked again", duplicates)
        for message, result in zip(decoded, results, strict=True):
            if result == CONFLICT:
                logger.warning("message %s (%s) logged as a sync conflict", message.message_id, message.type)
        # after the commit, so that a consumer parking an update and one applying its create see
        # each other's work: whichever commits last applies the parked update
        touched = {
            (m.source, m.source_id) for m, result in zip(decoded, results, strict=True) if result in (APPLIED, CONFLICT)
        }
        if touched and (applied := sync_conflicts_apply_waiting(keys=touched)):
            logger.info("applied %d update(s) that had arrived before their user", applied)
        # after the user messages before them are applied: a digest describes the users as they
        # were when it was sent, after the messages enqueued before it
        self._handle_controls(controls)
        return outcomes

    def _handle_controls(self, controls: list) -> None:
        own = [c for c in controls if c.source == settings.DEPLOYMENT_NAME]
        if own:
            sync_counter_add(name=OWN_MESSAGES_SKIPPED, count=len(own))
        for control in controls:
            if control.source == settings.DEPLOYMENT_NAME:
                continue
            if isinstance(control, DigestMessage):
                sync_digest_compare(digest=control)
            else:
                sync_resync_request_handle(request=control)
