"""Sync conflicts: applying a conflicting message again (support's action, and the updates
that arrived before their user), and marking conflicts resolved."""

import json

from django.db import transaction
from django.utils import timezone

from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserSyncInbox
from users.sync import user_sync_apply
from users.sync_message import PoisonMessage, sync_message_decode
from users.sync_rules import APPLIED, SyncConflict


def sync_conflict_apply_again(*, conflict, actor: User | None) -> str:
    """Apply a conflicting sync message again (not through the inbox: it was recorded there when
    it arrived). Applied: the conflict is resolved. Still conflicting: the conflict keeps the new
    reason and no second conflict row is left behind. Returns the outcome."""
    version = conflict.version
    if version is None:
        # recorded before conflicts kept the sender's version: apply it as the newest one
        try:
            source_id = json.loads(conflict.raw_body).get("source_id")
        except (ValueError, AttributeError):
            source_id = None
        link = SyncedUserLink.objects.filter(source=conflict.source, source_id=source_id).first()
        version = link.last_version + 1 if link else 1
    try:
        message = sync_message_decode(
            body=conflict.raw_body.encode("utf-8"),
            message_id=conflict.message_id,
            headers={"x-outbox-id": version},
            exchange=conflict.exchange,
            queue=conflict.queue,
        )
    except PoisonMessage as exc:
        undecodable = SyncConflict.undecodable(exc)
        conflict.reason, conflict.reason_code = undecodable.reason[:500], undecodable.code
        conflict.save(update_fields=["reason", "reason_code"])
        return "undecodable"
    with transaction.atomic():
        newest_before = ConflictingUserSyncLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        outcome = user_sync_apply(message=message, record_inbox=False)
        if outcome == APPLIED:
            conflict.resolved, conflict.resolved_at, conflict.resolved_by = True, timezone.now(), actor
            conflict.save(update_fields=["resolved", "resolved_at", "resolved_by"])
            UserSyncInbox.objects.filter(message_id=conflict.message_id).update(outcome=APPLIED)
            return outcome
        repeated = ConflictingUserSyncLog.objects.filter(pk__gt=newest_before, message_id=conflict.message_id)
        newest = repeated.order_by("-pk").first()
        if newest is not None:
            conflict.reason, conflict.reason_code = newest.reason, newest.reason_code
            conflict.save(update_fields=["reason", "reason_code"])
            repeated.delete()
    return outcome


def sync_conflicts_apply_waiting(*, keys) -> int:
    """Apply the updates that arrived before their user did, now that it is here.

    Several relays, retries after a broker cut and several consumers deliver a user's messages in
    any order: an update that overtakes its create is parked as an "unknown user" conflict. Once
    the create is applied, those updates are applied in version order and their conflicts
    resolved. `keys` are (source, source_id) pairs just applied or just parked: both sides look
    after their own commit, so whichever commits last finds the other. Returns how many applied."""
    by_source: dict[str, set[int]] = {}
    for source, source_id in keys:
        by_source.setdefault(source, set()).add(source_id)
    applied = 0
    for source, source_ids in by_source.items():
        waiting = list(
            ConflictingUserSyncLog.objects.filter(
                source=source,
                source_id__in=source_ids,
                resolved=False,
                reason_code=ConflictingUserSyncLog.Reason.UNKNOWN_USER,
            )
            .order_by("version", "pk")
            .values_list("pk", "source_id")
        )
        if not waiting:
            continue  # the usual case: one indexed query per batch
        present = set(
            SyncedUserLink.objects.filter(
                source=source,
                source_id__in={source_id for _, source_id in waiting},
            ).values_list("source_id", flat=True)
        )
        for pk in [pk for pk, source_id in waiting if source_id in present]:
            with transaction.atomic():
                # another consumer may be applying the same parked update: the row lock decides
                conflict = ConflictingUserSyncLog.objects.select_for_update().filter(pk=pk, resolved=False).first()
                if conflict is not None and sync_conflict_apply_again(conflict=conflict, actor=None) == APPLIED:
                    applied += 1
    return applied


def sync_conflicts_resolve(*, queryset, actor: User | None) -> int:
    """Mark the open conflicts among `queryset` resolved by `actor`: one UPDATE."""
    return queryset.filter(resolved=False).update(resolved=True, resolved_at=timezone.now(), resolved_by=actor)
