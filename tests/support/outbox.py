"""Deployment A's outbox as the fault tests fill and watch it (through the test's own connection)."""

from django.db.models import Count, Q

from pubsub.conf import Route
from pubsub.models import QueuePublishHistory

Status = QueuePublishHistory.Status
PROBE_TYPE = "fault.probe"


def outbox_seed(*, route: Route, count: int) -> set[str]:
    """Commit `count` pending ~1 KB messages for `route`; returns their message_ids."""
    rows = [
        QueuePublishHistory(
            queue_name=route.queue,
            exchange_name=route.exchange,
            deadletter_queue_name=route.deadletter_queue,
            deadletter_exchange_name=route.deadletter_exchange,
            message_type=PROBE_TYPE,
            message_body_json={"type": PROBE_TYPE, "seq": seq, "pad": "x" * 900},
        )
        for seq in range(count)
    ]
    QueuePublishHistory.objects.bulk_create(rows, batch_size=1000)
    return {str(row.message_id) for row in rows}


def outbox_progress(*, route: Route) -> dict[str, int]:
    """Rows by status, and how many are leased right now."""
    counts = QueuePublishHistory.objects.filter(queue_name=route.queue).aggregate(
        total=Count("id"),
        published=Count("id", filter=Q(status=Status.PUBLISHED)),
        pending=Count("id", filter=Q(status=Status.PENDING)),
        error=Count("id", filter=Q(status=Status.ERROR)),
        leased=Count("id", filter=~Q(claimed_by="")),
    )
    return counts


def outbox_published(*, route: Route) -> int:
    return QueuePublishHistory.objects.filter(queue_name=route.queue, status=Status.PUBLISHED).count()


def outbox_leased_by(*, route: Route, pid: int) -> int:
    """Rows still leased to the relay process `pid` (its worker id ends with `:<pid>`)."""
    return QueuePublishHistory.objects.filter(
        queue_name=route.queue, status=Status.PENDING, claimed_by__endswith=f":{pid}"
    ).count()
