"""The receiving side of user sync: decode a message from another deployment and apply it once.

Decoding failures are poison (rejected to the DLQ by the consumer). Messages that decode but can't
be applied (username taken, unknown user, stale update, invalid values) are conflicts: logged to
ConflictingUserSyncLog for support, and recorded in the inbox like any handled message.
"""

import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, identify_hasher
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserSyncInbox
from users.sync_payload import PRIVILEGE_FIELDS, SYNCED_FIELDS, USER_CREATED, USER_MESSAGE_TYPES

# never copied from another deployment: identity is local (user_code has its own sequence here)
NOT_APPLIED = frozenset({"user_code", "registered_on", "updated_at", "profile_img"})
APPLIED_FIELDS = tuple(f for f in SYNCED_FIELDS if f not in NOT_APPLIED)

APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"


class PoisonMessage(ValueError):
    """The message cannot be understood at all; it goes to the dead-letter queue."""


@dataclass(frozen=True)
class SyncMessage:
    message_id: uuid.UUID
    type: str
    source: str
    source_id: int
    version: int
    user: dict
    raw_body: str
    exchange: str = ""
    queue: str = ""


def sync_message_decode(*, body: bytes, message_id, headers: dict | None, exchange: str = "", queue: str = "") -> SyncMessage:
    if len(body) > settings.USER_SYNC_MAX_BODY_BYTES:
        raise PoisonMessage(f"body of {len(body)} bytes exceeds USER_SYNC_MAX_BODY_BYTES")
    try:
        parsed_id = uuid.UUID(str(message_id))
    except ValueError:
        raise PoisonMessage(f"message_id {message_id!r} is not a UUID") from None
    try:
        raw = body.decode("utf-8")
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"body is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PoisonMessage(f"body is a JSON {type(data).__name__}, not an object")
    message_type = data.get("type")
    if message_type not in USER_MESSAGE_TYPES:
        raise PoisonMessage(f"unknown message type {message_type!r}")
    source, source_id, user = data.get("source"), data.get("source_id"), data.get("user")
    if not isinstance(source, str) or not source or len(source) > 255:
        raise PoisonMessage("source must be a non-empty string")
    if not isinstance(source_id, int) or isinstance(source_id, bool):
        raise PoisonMessage("source_id must be an integer")
    if not isinstance(user, dict) or not isinstance(user.get("username"), str) or not user["username"]:
        raise PoisonMessage("user must be an object with a username")
    version = (headers or {}).get("x-outbox-id")
    if not isinstance(version, int) or isinstance(version, bool):
        raise PoisonMessage("header x-outbox-id (the message's version) is missing")
    return SyncMessage(parsed_id, message_type, source, source_id, version, user, raw, exchange, queue)


def user_fields_from_message(message: SyncMessage, *, teachers: dict | None = None) -> dict:
    """The local field values a message asks for, checked; `teachers` maps usernames to users
    already fetched (the batch path), otherwise the class teacher is looked up here."""
    allowed = APPLIED_FIELDS + (PRIVILEGE_FIELDS if settings.USER_SYNC_ACCEPT_PRIVILEGES else ())
    fields = {name: message.user[name] for name in allowed if name in message.user}
    password = fields.get("password")
    # an unusable password ("!…", set_unusable_password) stays unusable here; anything else must be a hash
    if password and not (isinstance(password, str) and password.startswith(UNUSABLE_PASSWORD_PREFIX)):
        try:
            identify_hasher(password)
        except (ValueError, TypeError, AttributeError):
            raise ValidationError({"password": ["is not a password hash this deployment knows"]}) from None
    for flag in ("is_active", "is_deleted", "is_staff", "is_superuser"):
        if flag in fields and not isinstance(fields[flag], bool):
            raise ValidationError({flag: ["must be true or false"]})
    teacher = message.user.get("class_teacher_username")
    if isinstance(teacher, str):
        fields["class_teacher"] = (
            teachers.get(teacher) if teachers is not None else User.objects.filter(username=teacher).first()
        )
    return fields


def validation_reason(exc: ValidationError) -> str:
    """'invalid: field: message; ...' so support sees which field was wrong."""
    if hasattr(exc, "error_dict"):
        parts = [f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
    else:
        parts = exc.messages
    return "invalid: " + "; ".join(parts)


def _conflict(message: SyncMessage, reason: str) -> str:
    ConflictingUserSyncLog.objects.create(
        message_id=message.message_id, message_type=message.type, exchange=message.exchange,
        queue=message.queue, source=message.source, version=message.version, raw_body=message.raw_body, reason=reason[:500],
    )
    return CONFLICT


def _save_user(user: User, fields: dict) -> None:
    for name, value in fields.items():
        if name == "password":
            user.password = value or "!"
        else:
            setattr(user, name, value)
    user.full_clean(exclude=["password", "user_code", "class_teacher"])
    # the change came from another deployment: don't send it back out
    user._skip_sync_message = True
    user.save()


def _apply(message: SyncMessage) -> str:
    link = SyncedUserLink.objects.select_for_update().filter(source=message.source, source_id=message.source_id).first()
    fields = user_fields_from_message(message)
    if link is None:
        if message.type != USER_CREATED:
            return _conflict(message, f"unknown user: no user from {message.source} #{message.source_id} here")
        if User.objects.filter(username=fields["username"]).exists():
            return _conflict(message, f"username {fields['username']!r} already exists")
        user = User()
        _save_user(user, fields)
        SyncedUserLink.objects.create(
            source=message.source, source_id=message.source_id, user=user, last_version=message.version
        )
        return APPLIED
    if message.version <= link.last_version:
        return _conflict(message, f"stale: version {message.version} is not newer than {link.last_version}")
    if User.objects.filter(username=fields["username"]).exclude(pk=link.user_id).exists():
        return _conflict(message, f"username {fields['username']!r} belongs to another user here")
    _save_user(link.user, fields)
    link.last_version = message.version
    link.save(update_fields=["last_version", "updated_at"])
    return APPLIED


def user_sync_apply(*, message: SyncMessage, record_inbox: bool = True) -> str:
    """Apply one message exactly once (inbox by message_id), all in one transaction."""
    with transaction.atomic():
        if record_inbox:
            if UserSyncInbox.objects.filter(message_id=message.message_id).exists():
                return DUPLICATE
            try:
                with transaction.atomic():
                    inbox = UserSyncInbox.objects.create(
                        message_id=message.message_id, source=message.source, outcome="pending"
                    )
            except IntegrityError:
                return DUPLICATE  # another consumer took it concurrently
        try:
            with transaction.atomic():
                outcome = _apply(message)
        except ValidationError as exc:
            outcome = _conflict(message, validation_reason(exc))
        except IntegrityError as exc:
            outcome = _conflict(message, f"conflicts with existing data: {exc}")
        if record_inbox:
            inbox.outcome = outcome
            inbox.save(update_fields=["outcome"])
    return outcome
