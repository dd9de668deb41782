"""The receiving side of user sync, one message at a time: apply a decoded message
(users.sync_message) from another deployment once, by the rules of users.sync_rules.

Messages that decode but can't be applied (username taken, unknown user, stale update, invalid
values) are conflicts: logged to ConflictingUserSyncLog for support, and recorded in the inbox like
any handled message.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from users.models import SyncedUserLink, User, UserSyncInbox
from users.signals import sync_messages_suppressed
from users.sync_message import SyncMessage
from users.sync_rules import (
    APPLIED,
    CONFLICT,
    DUPLICATE,
    OUTDATED,
    SyncConflict,
    snapshot_is_outdated,
    sync_conflict_find,
    sync_conflict_log_build,
    user_fields_from_message,
)


def _conflict(message: SyncMessage, conflict: SyncConflict) -> str:
    sync_conflict_log_build(message=message, conflict=conflict).save()
    return CONFLICT


def _username_held_by_other(username: str, user_id: int | None) -> bool:
    users = User.objects.filter(username=username)
    if user_id is not None:
        users = users.exclude(pk=user_id)
    return users.exists()


def _save_user(user: User, fields: dict) -> None:
    """Set the message's values and save. An existing user is saved with the fields whose value
    changes only, so a change another process made to the rest (a password, the token
    generation) is never written back as it was read."""
    attnames = {name: User._meta.get_field(name).attname for name in fields}
    before = {name: getattr(user, attname) for name, attname in attnames.items()}
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password", "user_code", "class_teacher"])
    # the change came from another deployment: don't send it back out
    with sync_messages_suppressed():
        if user._state.adding:
            user.save()
            return
        changed = [name for name, attname in attnames.items() if getattr(user, attname) != before[name]]
        user.save(update_fields=[*changed, "updated_at"])


def _apply(message: SyncMessage) -> str:
    link = SyncedUserLink.objects.select_for_update().filter(source=message.source, source_id=message.source_id).first()
    if snapshot_is_outdated(message=message, link=link):
        return OUTDATED
    fields = user_fields_from_message(message)
    conflict = sync_conflict_find(
        message=message, username=fields["username"], link=link, username_held_by_other=_username_held_by_other
    )
    if conflict is not None:
        return _conflict(message, conflict)
    if link is None:
        user = User()
        _save_user(user, fields)
        SyncedUserLink.objects.create(
            source=message.source, source_id=message.source_id, user=user, last_version=message.version
        )
        return APPLIED
    # locked until the message is applied: a revocation or password change waits for it
    _save_user(User.objects.select_for_update().get(pk=link.user_id), fields)
    link.last_version = message.version
    link.save(update_fields=["last_version", "updated_at"])
    return APPLIED


def _duplicate(message: SyncMessage, handled_sha256: str) -> str:
    """A redelivery changes nothing; another body under a handled message_id is the sender's bug,
    kept as a conflict so it is not silently lost (rows from before the digest was kept have none)."""
    if handled_sha256 and handled_sha256 != message.body_sha256:
        return _conflict(message, SyncConflict.different_body(message))
    return DUPLICATE


def user_sync_apply(*, message: SyncMessage, record_inbox: bool = True) -> str:
    """Apply one message exactly once (inbox by message_id), all in one transaction."""
    with transaction.atomic():
        if record_inbox:
            inbox_rows = UserSyncInbox.objects.filter(message_id=message.message_id)
            handled = inbox_rows.values_list("body_sha256", flat=True).first()
            if handled is not None:
                return _duplicate(message, handled)
            try:
                with transaction.atomic():
                    inbox = UserSyncInbox.objects.create(
                        message_id=message.message_id,
                        source=message.source,
                        outcome="pending",
                        body_sha256=message.body_sha256,
                    )
            except IntegrityError:
                return DUPLICATE  # another consumer took it concurrently
        try:
            with transaction.atomic():
                outcome = _apply(message)
        except ValidationError as exc:
            outcome = _conflict(message, SyncConflict.invalid(exc))
        except IntegrityError as exc:
            outcome = _conflict(message, SyncConflict.existing_data(exc))
        if record_inbox:
            inbox.outcome = outcome
            inbox.save(update_fields=["outcome"])
    return outcome
