"""Counters of the sync consumer's, kept in the database (users.UserSyncCounter) for /metrics."""

from django.db import transaction
from django.db.models import F

from users.models import UserSyncCounter

OWN_MESSAGES_SKIPPED = "own_messages_skipped"


def sync_counter_add(*, name: str, count: int) -> None:
    """Add `count` in the caller's transaction: the count moves with the work it counts."""
    if count <= 0:
        return
    if UserSyncCounter.objects.filter(name=name).update(value=F("value") + count):
        return
    with transaction.atomic():
        counter, _ = UserSyncCounter.objects.select_for_update().get_or_create(name=name)
    UserSyncCounter.objects.filter(pk=counter.pk).update(value=F("value") + count)


def sync_counter_values() -> dict[str, int]:
    return dict(UserSyncCounter.objects.values_list("name", "value"))
