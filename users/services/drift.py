"""Drift detection and repair between deployments (see users.sync_digest for the digests).

The sender publishes its digest (`sync_digest_publish`) on the queue its user messages take, so it
arrives after the messages enqueued before it; the receiver compares it with what it holds
(`sync_digest_compare`) and keeps each differing range as an open users.SyncDrift row, closed by
the first later digest that matches. From that row support asks the sender for a resync of the
range (`sync_drift_request_resync`, a `sync.resync_requested` message to the sender's own queue),
and the sender's consumer starts it (`sync_resync_request_handle`)."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pubsub.conf import Route
from pubsub.models import QueuePublishHistory
from pubsub.outbox import queue_msg_to_publish
from users.models import SyncDrift, User
from users.sync_control import SYNC_DIGEST, SYNC_RESYNC_REQUESTED, DigestMessage
from users.sync_digest import held_users_digest, sent_users_digest

logger = logging.getLogger(__name__)


def _route(queue: str) -> Route:
    return Route.for_queue(queue, settings.USER_SYNC_EXCHANGE)


def sync_digest_publish(*, queue: str) -> QueuePublishHistory:
    """Enqueue this deployment's digest for the receivers of `queue` (one of USER_SYNC_QUEUES)."""
    if queue not in settings.USER_SYNC_QUEUES:
        raise ValidationError(
            f"{queue!r} is not one of this deployment's user sync queues ({', '.join(settings.USER_SYNC_QUEUES)})"
        )
    range_size = settings.USER_SYNC_DIGEST_RANGE_SIZE
    body = {
        "type": SYNC_DIGEST,
        "source": settings.DEPLOYMENT_NAME,
        "range_size": range_size,
        # where a receiver asks for a resync: the queue this deployment consumes
        "reply_queue": settings.USER_SYNC_REPLY_QUEUE,
        "computed_at": timezone.now(),
        "ranges": [item.as_json() for item in sent_users_digest(range_size=range_size)],
    }
    return queue_msg_to_publish(route=_route(queue), body=body, message_type=SYNC_DIGEST)


def sync_digests_publish_all() -> list[QueuePublishHistory]:
    return [sync_digest_publish(queue=queue) for queue in settings.USER_SYNC_QUEUES]


def sync_digest_compare(*, digest: DigestMessage) -> tuple[int, int]:
    """Record each range where this deployment differs from `digest` as open drift, and close the
    open drift of the ranges that match now. Returns (ranges drifted, drift rows closed)."""
    sent = {item.start: item for item in digest.ranges}
    held = {item.start: item for item in held_users_digest(source=digest.source, range_size=digest.range_size)}
    drifted = sorted(start for start in sent.keys() | held.keys() if _differs(sent.get(start), held.get(start)))
    now = timezone.now()
    closed = 0
    with transaction.atomic():
        open_rows = {
            row.range_start: row
            for row in SyncDrift.objects.select_for_update().filter(source=digest.source, closed_at__isnull=True)
        }
        for start in drifted:
            values = {
                "range_end": start + digest.range_size - 1,
                "queue": digest.queue,
                "reply_queue": digest.reply_queue,
                "source_count": sent[start].count if start in sent else 0,
                "local_count": held[start].count if start in held else 0,
                "last_checked_at": now,
            }
            row = open_rows.pop(start, None)
            if row is not None and row.range_end == values["range_end"]:
                SyncDrift.objects.filter(pk=row.pk).update(**values)
                continue
            if row is not None:
                open_rows[start] = row  # another range size: closed below, superseded
            SyncDrift.objects.create(source=digest.source, range_start=start, **values)
        for row in open_rows.values():
            # saved through the model: auditlog keeps when the drift closed
            row.closed_at = now
            row.last_checked_at = now
            row.save(update_fields=["closed_at", "last_checked_at"])
            closed += 1
    if drifted or closed:
        logger.info("digest of %s: %d range(s) drifted, %d closed", digest.source, len(drifted), closed)
    return len(drifted), closed


def _differs(sent, held) -> bool:
    if sent is None or held is None:
        return (sent or held).count > 0
    return (sent.count, sent.hash) != (held.count, held.hash)


def sync_drift_request_resync(*, drifts, requested_by: User | None) -> int:
    """Ask each drifted range's source for a resync of it: one `sync.resync_requested` per source
    and queue, to the source's own queue. Closed rows are left out. Returns the ranges asked for."""
    groups: dict[tuple[str, str, str], list[SyncDrift]] = {}
    for drift in drifts:
        if drift.closed_at is None:
            groups.setdefault((drift.source, drift.queue, drift.reply_queue), []).append(drift)
    now = timezone.now()
    with transaction.atomic():
        for (source, queue, reply_queue), rows in groups.items():
            body = {
                "type": SYNC_RESYNC_REQUESTED,
                "source": settings.DEPLOYMENT_NAME,
                "target": source,
                "queue": queue,
                "ranges": [[row.range_start, row.range_end] for row in sorted(rows, key=lambda r: r.range_start)],
            }
            queue_msg_to_publish(route=_route(reply_queue), body=body, message_type=SYNC_RESYNC_REQUESTED)
            for row in rows:
                row.resync_requested_at, row.resync_requested_by = now, requested_by
                row.save(update_fields=["resync_requested_at", "resync_requested_by"])
    return sum(len(rows) for rows in groups.values())
