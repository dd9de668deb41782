"""The outbox relay: claim due rows, publish them, record the outcome. Short transactions only;
nothing is published while a row lock is held."""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from pubsub.broker import BrokerUnavailable, Publisher
from pubsub.conf import setting
from pubsub.models import QueuePublishHistory

logger = logging.getLogger(__name__)
Status = QueuePublishHistory.Status


def retry_delay_secs(*, attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then scaled by 50–100 %."""
    ceiling = min(setting("OUTBOX_RETRY_MAX_SECS"), setting("OUTBOX_RETRY_BASE_SECS") * 2 ** max(attempts - 1, 0))
    return ceiling * (0.5 + random.random() / 2)


def next_attempt_after_failure(*, attempts: int, now):
    """When to try again after `attempts` tries, or None once the bound is reached."""
    if attempts >= setting("OUTBOX_MAX_ATTEMPTS"):
        return None
    return now + timedelta(seconds=retry_delay_secs(attempts=attempts))


@dataclass(slots=True)
class ClaimedMessage:
    """What the relay needs of a leased outbox row."""

    pk: int
    message_id: uuid.UUID
    message_type: str
    queue_name: str
    exchange_name: str
    deadletter_queue_name: str
    deadletter_exchange_name: str
    delivery_mode: int
    expiration_secs: int
    timestamp: datetime
    attempts: int
    body_text: str


def outbox_claim_batch(*, worker_id: str, batch_size: int, lease_secs: int) -> list[ClaimedMessage]:
    """Lease up to `batch_size` due rows to this worker. Moving `next_attempt_at` to the lease's end
    hides them from other relays until then; a relay that dies leaves them to be reclaimed."""
    now = timezone.now()
    until = now + timedelta(seconds=lease_secs)
    with transaction.atomic():
        # lock ids only (the due index covers them), so the locking transaction stays short
        ids = list(
            QueuePublishHistory.objects.select_for_update(skip_locked=True)
            .filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            QueuePublishHistory.objects.filter(pk__in=ids).update(
                claimed_by=worker_id, claimed_until=until, next_attempt_at=until, updated_at=now
            )
    if not ids:
        return []
    # plain tuples, not model instances: the relay reads a few fields of thousands of rows a second
    rows = (
        QueuePublishHistory.objects.filter(pk__in=ids, claimed_by=worker_id)
        .annotate(body_text=_raw_body())
        .order_by("id")
        .values_list(*ClaimedMessage.__slots__)
    )
    return [ClaimedMessage(*row) for row in rows]


def _raw_body() -> RawSQL:
    """The stored JSON text as it is: publishing it needs no decode and re-encode."""
    table = connection.ops.quote_name(QueuePublishHistory._meta.db_table)
    column = connection.ops.quote_name("message_body_json")
    return RawSQL(f"{table}.{column}", (), output_field=TextField())


def outbox_mark_published(*, ids: list[int], worker_id: str) -> int:
    if not ids:
        return 0
    now = timezone.now()
    return QueuePublishHistory.objects.filter(pk__in=ids, claimed_by=worker_id).update(
        status=Status.PUBLISHED,
        published_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        claimed_by="",
        claimed_until=None,
        error_msg="",
        expired_reason="",
        updated_at=now,
    )


def outbox_mark_failed(*, rows: list[ClaimedMessage], errors: dict[int, str], worker_id: str) -> int:
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        for row in rows:
            if row.pk not in errors:
                continue
            attempts = row.attempts + 1
            changed += QueuePublishHistory.objects.filter(pk=row.pk, claimed_by=worker_id).update(
                status=Status.ERROR,
                attempts=attempts,
                next_attempt_at=next_attempt_after_failure(attempts=attempts, now=now),
                error_msg=errors[row.pk],
                claimed_by="",
                claimed_until=None,
                updated_at=now,
            )
    return changed


def outbox_release(*, ids: list[int], worker_id: str) -> int:
    """Give leased rows back, due now (graceful stop, or the broker went away)."""
    if not ids:
        return 0
    now = timezone.now()
    return QueuePublishHistory.objects.filter(pk__in=ids, claimed_by=worker_id).update(
        next_attempt_at=now, claimed_by="", claimed_until=None, updated_at=now
    )


def relay_record(*, rows: list[ClaimedMessage], outcome, worker_id: str) -> tuple[int, int]:
    """Record what happened to a claimed batch: a BatchResult, or the BrokerUnavailable that
    interrupted it (what the broker took is published, the rest released, not counted as an
    attempt). Returns (published, failed)."""
    if isinstance(outcome, BrokerUnavailable):
        published = outcome.partial.published if outcome.partial else []
        done = set(published)
        outbox_mark_published(ids=published, worker_id=worker_id)
        outbox_release(ids=[row.pk for row in rows if row.pk not in done], worker_id=worker_id)
        return len(published), 0
    outbox_mark_published(ids=outcome.published, worker_id=worker_id)
    if outcome.failed:
        logger.warning("%d message(s) failed to publish: %s", len(outcome.failed), outcome.failed)
        outbox_mark_failed(rows=rows, errors=outcome.failed, worker_id=worker_id)
    return len(outcome.published), len(outcome.failed)


def relay_batch(*, publisher: Publisher, worker_id: str, batch_size: int | None = None) -> tuple[int, int]:
    """Claim, publish and record one batch, synchronously. Returns (published, failed)."""
    rows = outbox_claim_batch(
        worker_id=worker_id,
        batch_size=batch_size or setting("OUTBOX_BATCH_SIZE"),
        lease_secs=setting("OUTBOX_LEASE_SECS"),
    )
    if not rows:
        return 0, 0
    try:
        result = publisher.publish_batch(rows)
    except BrokerUnavailable as exc:
        relay_record(rows=rows, outcome=exc, worker_id=worker_id)
        raise
    return relay_record(rows=rows, outcome=result, worker_id=worker_id)
