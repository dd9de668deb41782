"""Deleting many rows without holding locks on a big table for long."""

from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, *, batch_size: int, limit: int | None = None) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement (each its own short
    transaction, so no statement locks more than one batch), stopping after about `limit` rows
    when given (an admin button must end within its request). Returns the rows deleted, cascades
    not counted. The filter should be served by an index: it runs once per batch."""
    model = queryset.model
    deleted = 0
    while limit is None or deleted < limit:
        size = batch_size if limit is None else min(batch_size, limit - deleted)
        ids = list(queryset.order_by().values_list("pk", flat=True)[:size])
        if not ids:
            break
        _, per_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
    return deleted
