"""Audit entries for changes made in bulk (admin actions, token revocation), which bypass the
model signals django-auditlog listens to: one entry per object, with the actor and the action."""

from collections.abc import Iterable

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType


def audit_bulk(*, model, entries: Iterable[tuple[int, str, dict]], actor=None, action_name: str) -> int:
    """Write one auditlog UPDATE entry per (pk, repr, changes); returns how many."""
    content_type = ContentType.objects.get_for_model(model)
    created = LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type=content_type,
                object_pk=str(pk),
                object_id=pk,
                object_repr=text[:200],
                action=LogEntry.Action.UPDATE,
                changes=changes,
                actor=actor,
                additional_data={"admin_action": action_name},
            )
            for pk, text, changes in entries
        ],
        batch_size=1000,
    )
    return len(created)
