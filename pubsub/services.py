"""What people do to the outbox (support staff in the admin, ops from the shell)."""

import logging
import os
import socket

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from common.audit import audit_bulk
from pubsub.broker import BrokerUnavailable, Publisher
from pubsub.dbclock import DatabaseNow
from pubsub.deadletter import DeadletterConsumer
from pubsub.models import QueuePublishHistory
from pubsub.relay import OutboxRelay

logger = logging.getLogger(__name__)
Status = QueuePublishHistory.Status

MANUAL_EXPIRY_REASON = "manual"
# rows one "publish now" pass handles at most: an admin request must stay short
PUBLISH_NOW_LIMIT = 2000
# dead letters one "drain now" pass handles at most
DRAIN_NOW_LIMIT = 2000


def _outbox_set_status(*, targets: QuerySet, new_status: str, actor, action_name: str, **fields) -> int:
    """Move `targets` to `new_status` with one UPDATE, audited per row; returns rows changed."""
    with transaction.atomic():
        before = list(targets.select_for_update().values_list("pk", "status"))
        if not before:
            return 0
        now = timezone.now()
        changed = QueuePublishHistory.objects.filter(pk__in=[pk for pk, _ in before]).update(
            status=new_status, claimed_by="", claimed_until=None, updated_at=now, **fields
        )
        audit_bulk(
            model=QueuePublishHistory,
            entries=[(pk, f"outbox message #{pk}", {"status": [old, new_status]}) for pk, old in before],
            actor=actor,
            action_name=action_name,
        )
    logger.info("%s: %s on %d outbox message(s)", actor or "someone", action_name, changed)
    return changed


def outbox_retry(*, queryset: QuerySet, actor=None) -> int:
    """Make rows pending and due now with a fresh attempt budget. One UPDATE; returns rows changed.
    Published rows are left alone: they reached the broker."""
    return _outbox_set_status(
        targets=queryset.exclude(status=Status.PUBLISHED),
        new_status=Status.PENDING,
        actor=actor,
        action_name="retry",
        attempts=0,
        next_attempt_at=DatabaseNow(),
        expired_reason="",
    )


def outbox_expire(*, queryset: QuerySet, actor=None) -> int:
    """Expire rows by hand: never retried automatically. One UPDATE; returns rows changed.
    Published rows are left alone."""
    return _outbox_set_status(
        targets=queryset.exclude(status__in=[Status.PUBLISHED, Status.EXPIRED]),
        new_status=Status.EXPIRED,
        actor=actor,
        action_name="expire",
        expired_reason=MANUAL_EXPIRY_REASON,
        next_attempt_at=None,
    )


def outbox_publish_due_now(*, limit: int = PUBLISH_NOW_LIMIT) -> tuple[int, int]:
    """One bounded relay pass in this process: publish what is due, up to `limit` rows.
    Returns (published, failed); raises BrokerUnavailable when the broker can't be reached."""
    worker_id = f"publish-now@{socket.gethostname()}:{os.getpid()}"
    relay = OutboxRelay(publisher=Publisher(), worker_id=worker_id, batch_size=min(500, limit))
    try:
        return relay.drain(limit=limit)
    finally:
        relay.publisher.close()
        relay.release_all()


class _BoundedDeadletterDrain(DeadletterConsumer):
    """The dead-letter consumer's --once pass, stopped after about `limit` messages."""

    def __init__(self, *, limit: int):
        super().__init__(once=True)
        self.limit = limit

    def step(self) -> int:
        done = super().step()
        if self.processed + self.failed >= self.limit:
            self.stop()
        return done


def deadletter_drain_now(*, limit: int | None = None) -> tuple[int, int]:
    """One bounded pass over the dead-letter queues in this process: each dead letter marks its
    outbox row expired. Returns (handled, rejected); raises BrokerUnavailable when the broker
    can't be reached."""
    drain = _BoundedDeadletterDrain(limit=DRAIN_NOW_LIMIT if limit is None else limit)
    drain.run()
    return drain.processed, drain.failed


__all__ = [
    "BrokerUnavailable",
    "deadletter_drain_now",
    "outbox_expire",
    "outbox_publish_due_now",
    "outbox_retry",
]
