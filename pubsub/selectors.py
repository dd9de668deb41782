"""Reads of the outbox that the dashboard and /metrics share."""

from datetime import timedelta

from django.db.models import DurationField, ExpressionWrapper, F

from pubsub.dbclock import DatabaseNow
from pubsub.models import QueuePublishHistory


def outbox_oldest_due_age() -> timedelta | None:
    """How long the oldest row due for publishing has waited (the head of outbox_due_idx), on the
    database's clock, the one due times are stamped with; None when nothing is due."""
    return (
        QueuePublishHistory.objects.filter(next_attempt_at__lte=DatabaseNow())
        .order_by("next_attempt_at")
        .annotate(age=ExpressionWrapper(DatabaseNow() - F("next_attempt_at"), output_field=DurationField()))
        .values_list("age", flat=True)
        .first()
    )
