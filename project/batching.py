"""Deleting many rows without holding locks on a big table for long."""

from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement (each its own short
    transaction, so no statement locks more than one batch). Returns the rows deleted, cascades
    not counted. The filter should be served by an index: it runs once per batch."""
    model = queryset.model
    deleted = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        _, per_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
