"""The receiving side of user sync: apply a decoded message (users.sync_message) from another
deployment once.

Messages that decode but can't be applied (username taken, unknown user, stale update, invalid
values) are conflicts: logged to ConflictingUserSyncLog for support, and recorded in the inbox like
any handled message.
"""

import datetime
import json

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, identify_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserSyncInbox
from users.signals import sync_messages_suppressed
from users.sync_hashes import HASH_COST_LIMIT_FACTOR, hash_cost_problem
from users.sync_message import SyncMessage
from users.sync_payload import KNOWN_USER_KEYS, PRIVILEGE_FIELDS, SYNCED_FIELDS, USER_CREATED

# never copied from another deployment: identity is local (user_code has its own sequence here)
NOT_APPLIED = frozenset({"user_code", "registered_on", "updated_at", "profile_img"})
APPLIED_FIELDS = tuple(f for f in SYNCED_FIELDS if f not in NOT_APPLIED)

APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
# the reason an update that overtook its create is parked with (see sync_conflicts_apply_waiting)
UNKNOWN_USER = "unknown user"


NOT_A_HASH = "is not a password hash this deployment knows"
NOT_A_HASH_CODE = "not_a_hash"
REDACTED_NOT_A_HASH = "[removed: not a password hash]"
REDACTED_UNKNOWN_KEY = "[removed: not on the allow-list]"


def user_fields_from_message(message: SyncMessage, *, teachers: dict | None = None) -> dict:
    """The local field values a message asks for, checked; `teachers` maps usernames to users
    already fetched (the batch path), otherwise the class teacher is looked up here."""
    allowed = APPLIED_FIELDS + (PRIVILEGE_FIELDS if settings.USER_SYNC_ACCEPT_PRIVILEGES else ())
    fields = {name: message.user[name] for name in allowed if name in message.user}
    if fields.get("user_type") == User.UserType.ADMIN and not settings.USER_SYNC_ACCEPT_PRIVILEGES:
        # an API administrator has every right on the users API: a privilege like is_staff, so
        # the user keeps the type it has here (a new one the default)
        del fields["user_type"]
    errors = {name: [problem] for name, value in fields.items() if (problem := _value_problem(name, value))}
    if errors:
        raise ValidationError(errors)
    if "password" in fields:
        fields["password"] = _local_password(fields["password"])
    teacher = message.user.get("class_teacher_username")
    if isinstance(teacher, str) and "\x00" not in teacher:
        fields["class_teacher"] = (
            teachers.get(teacher) if teachers is not None else User.objects.filter(username=teacher).first()
        )
    return fields


def _value_problem(name: str, value) -> str:
    """What is wrong with the JSON type of a value (the model's validation checks the rest); a
    wrong type would otherwise fail deep in the ORM and take the whole batch with it."""
    if name == "password":
        return "" if value is None or isinstance(value, str) else "must be a string"
    field = User._meta.get_field(name)
    if value is None:
        return "" if field.null else "must not be null"
    if isinstance(field, models.BooleanField):
        return "" if isinstance(value, bool) else "must be true or false"
    if not isinstance(value, str):
        return "must be a string"
    if "\x00" in value:
        return "must not contain NUL characters"
    if isinstance(field, models.DateField):  # DateTimeField too
        try:
            parsed = field.to_python(value)
            if isinstance(parsed, datetime.datetime):
                # stored as UTC: a time near year 1 or 9999 may not convert
                (parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)).astimezone(datetime.UTC)
        except ValidationError:
            return "is not a valid ISO 8601 date"
        except (OverflowError, ValueError):
            return "is out of range"
    return ""


def _local_password(password: str | None) -> str:
    """A hash of an algorithm configured here (PASSWORD_HASHERS), within a sane cost
    (users.sync_hashes), that this deployment can check; an empty or unusable one becomes a fresh
    unusable password, so text after the "!" (it could be anything) is never stored."""
    if not password or password.startswith(UNUSABLE_PASSWORD_PREFIX):
        return make_password(None)
    not_a_hash = ValidationError({"password": [ValidationError(NOT_A_HASH, code=NOT_A_HASH_CODE)]})
    try:
        hasher = identify_hasher(password)
        too_costly = hash_cost_problem(hasher=hasher, encoded=password)
    except ValueError:  # UnreadableHash too
        raise not_a_hash from None
    if too_costly:
        raise ValidationError(
            {"password": [f"costs more than {HASH_COST_LIMIT_FACTOR}x this deployment's hash: {too_costly}"]}
        )
    if hasher.library is not None:
        try:
            hasher._load_library()
        except ValueError:
            # stored, it would fail every login of the user with a server error
            raise ValidationError(
                {"password": [f"is a {hasher.algorithm} hash, whose library is not installed here"]}
            ) from None
    try:
        hasher.decode(password)
    except Exception:  # noqa: BLE001 - each hasher parses its format its own way and fails in its own way
        raise not_a_hash from None
    return password


def _is_not_a_hash(password) -> bool:
    """True for a password that is no hash at all (a plaintext one, say): never kept. A hash
    refused for its cost or its algorithm is kept with the conflict like any other value."""
    if not isinstance(password, str):
        return False
    try:
        _local_password(password)
    except ValidationError as exc:
        return any(error.code == NOT_A_HASH_CODE for error in exc.error_dict["password"])
    return False


def conflict_raw_body(message: SyncMessage) -> str:
    """The body kept with a conflict, for support to read and apply again: as received, unless it
    carries a password that is no hash or keys off the allow-list (plaintext passwords, say),
    whose values are then removed. Removed values could not have been applied anyway."""
    user = message.user
    bad_password = _is_not_a_hash(user.get("password"))
    unknown = [key for key in user if key not in KNOWN_USER_KEYS]
    if not bad_password and not unknown:
        return message.raw_body
    cleaned = {key: REDACTED_UNKNOWN_KEY if key in unknown else value for key, value in user.items()}
    if bad_password:
        cleaned["password"] = REDACTED_NOT_A_HASH
    return json.dumps(json.loads(message.raw_body) | {"user": cleaned}, ensure_ascii=False)


def validation_reason(exc: ValidationError) -> str:
    """'invalid: field: message; ...' so support sees which field was wrong."""
    if hasattr(exc, "error_dict"):
        parts = [f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
    else:
        parts = exc.messages
    return "invalid: " + "; ".join(parts)


def _conflict(message: SyncMessage, reason: str) -> str:
    ConflictingUserSyncLog.objects.create(
        message_id=message.message_id,
        message_type=message.type,
        exchange=message.exchange,
        queue=message.queue,
        source=message.source,
        source_id=message.source_id,
        version=message.version,
        raw_body=conflict_raw_body(message),
        reason=reason[:500],
    )
    return CONFLICT


def different_body_reason(message: SyncMessage) -> str:
    return f"message_id {message.message_id} was already handled with a different body: not applied"


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
    fields = user_fields_from_message(message)
    if link is None:
        if message.type != USER_CREATED:
            return _conflict(message, f"{UNKNOWN_USER}: no user from {message.source} #{message.source_id} here")
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
    # locked until the message is applied: a revocation or password change waits for it
    _save_user(User.objects.select_for_update().get(pk=link.user_id), fields)
    link.last_version = message.version
    link.save(update_fields=["last_version", "updated_at"])
    return APPLIED


def _duplicate(message: SyncMessage, handled_sha256: str) -> str:
    """A redelivery changes nothing; another body under a handled message_id is the sender's bug,
    kept as a conflict so it is not silently lost (rows from before the digest was kept have none)."""
    if handled_sha256 and handled_sha256 != message.body_sha256:
        return _conflict(message, different_body_reason(message))
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
            outcome = _conflict(message, validation_reason(exc))
        except IntegrityError as exc:
            outcome = _conflict(message, f"conflicts with existing data: {exc}")
        if record_inbox:
            inbox.outcome = outcome
            inbox.save(update_fields=["outcome"])
    return outcome
