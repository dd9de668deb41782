"""Enqueueing into the outbox, always inside the caller's database transaction."""

import json
import weakref
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from common.batching import delete_in_batches
from pubsub.conf import Route
from pubsub.encoders import OutboxJSONEncoder
from pubsub.models import QueuePublishHistory

# The rows each open transaction has enqueued so far, per database connection (a connection
# belongs to one thread): (key, queue) -> (message_id, first message type). An entry goes when its
# transaction commits; a rolled-back row only makes the next fold's UPDATE match nothing. Weak
# keys: a closed and dropped connection takes its entries with it.
_pending_by_connection: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict]" = weakref.WeakKeyDictionary()


def _jsonable(body: dict) -> dict:
    # encode once here so the stored JSON is exactly what will be published
    return json.loads(json.dumps(body, cls=OutboxJSONEncoder))


def queue_msg_to_publish(
    *,
    route: Route,
    body: dict,
    message_type: str = "",
    expiration_secs: int | None = None,
    using: str = "default",
) -> QueuePublishHistory:
    """Write one pending outbox row in the current transaction (the original function's name)."""
    return QueuePublishHistory.objects.using(using).create(
        queue_name=route.queue,
        exchange_name=route.exchange,
        deadletter_queue_name=route.deadletter_queue,
        deadletter_exchange_name=route.deadletter_exchange,
        message_type=message_type,
        message_body_json=_jsonable(body),
        expiration_secs=expiration_secs or settings.OUTBOX_MESSAGE_TTL_SECS,
    )


def outbox_enqueue_many(*, route: Route, bodies: list[dict], message_type: str) -> int:
    """Write one pending row per body in one multi-row INSERT, in the caller's transaction (a
    resync's batch: thousands of rows a second, where one INSERT each would be the bottleneck)."""
    rows = [
        QueuePublishHistory(
            queue_name=route.queue,
            exchange_name=route.exchange,
            deadletter_queue_name=route.deadletter_queue,
            deadletter_exchange_name=route.deadletter_exchange,
            message_type=message_type,
            message_body_json=_jsonable(body),
            expiration_secs=settings.OUTBOX_MESSAGE_TTL_SECS,
        )
        for body in bodies
    ]
    return len(QueuePublishHistory.objects.bulk_create(rows, batch_size=1000))


def outbox_pending_above(*, limit: int) -> bool:
    """Whether more than `limit` rows wait to be published (counted up to limit + 1 on
    outbox_status_idx, so a huge backlog costs no more than a small one)."""
    pending = QueuePublishHistory.objects.filter(status=QueuePublishHistory.Status.PENDING).order_by()
    return pending[: limit + 1].count() > limit


def outbox_enqueue_coalesced(
    *,
    key: str,
    route: Route,
    build_body: Callable[[str], dict],
    message_type: str,
    using: str = "default",
) -> QueuePublishHistory | None:
    """Enqueue, or fold into the row this same transaction already enqueued for `key`.

    Several saves of one object inside one transaction are one logical change: the row written
    first keeps its type (a create stays `user.created`) and takes the newest body, built by
    `build_body(type)`. Returns the new row, or None when an existing row was updated.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        body = build_body(message_type)
        return queue_msg_to_publish(route=route, body=body, message_type=message_type, using=using)
    pending = _pending_by_connection.setdefault(connection, {})
    slot = (key, route.queue)
    if slot in pending:
        message_id, first_type = pending[slot]
        updated = (
            QueuePublishHistory.objects.using(using)
            .filter(message_id=message_id, status=QueuePublishHistory.Status.PENDING, claimed_by="")
            .update(message_body_json=_jsonable(build_body(first_type)), timestamp=timezone.now())
        )
        if updated:
            return None
    body = build_body(message_type)
    row = queue_msg_to_publish(route=route, body=body, message_type=message_type, using=using)
    # by message_id, not pk: a rolled-back pk can be handed out again (SQLite) to an unrelated row
    pending[slot] = (row.message_id, message_type)
    # forget the row once committed; a rolled-back row just fails the UPDATE above next time
    transaction.on_commit(lambda: pending.pop(slot, None), using=using)
    return row


def outbox_purge_expired() -> int | None:
    """Apply the retention policy: delete rows published more than OUTBOX_RETENTION_DAYS ago.
    Returns how many were deleted, or None when retention is off (0 keeps them)."""
    days = settings.OUTBOX_RETENTION_DAYS
    if not days:
        return None
    return outbox_purge_published(
        older_than=timezone.now() - timedelta(days=days), batch_size=settings.HOUSEKEEPING_BATCH_SIZE
    )


def outbox_purge_published(*, older_than, batch_size: int) -> int:
    """Delete the rows published before `older_than`, in batches (served by outbox_published_idx).
    Rows in any other status stay: they are still work, or evidence, for a person."""
    published = QueuePublishHistory.objects.filter(
        status=QueuePublishHistory.Status.PUBLISHED, published_at__lt=older_than
    )
    return delete_in_batches(published, batch_size=batch_size)
