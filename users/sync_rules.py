"""The rules of applying a user message from another deployment, one set for both paths
(`users.sync`, one message; `users.sync_batch`, a batch): which fields a message sets and how their
values are checked, when it is a conflict instead, and with which reason support reads.
"""

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, identify_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.utils import timezone

from users.models import ConflictingUserSyncLog, SyncedUserLink, User
from users.sync_hashes import HASH_COST_LIMIT_FACTOR, hash_cost_problem
from users.sync_message import PoisonMessage, SyncMessage
from users.sync_payload import KNOWN_USER_KEYS, PRIVILEGE_FIELDS, SYNCED_FIELDS, USER_SNAPSHOT, USER_UPDATED

# never copied from another deployment: identity is local (user_code has its own sequence here)
NOT_APPLIED = frozenset({"user_code", "registered_on", "updated_at", "profile_img"})
APPLIED_FIELDS = tuple(f for f in SYNCED_FIELDS if f not in NOT_APPLIED)

# what became of a message
APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
# a snapshot older than what was applied: the newer state is already there, nothing to tell support
OUTDATED = "outdated"

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
    elif teacher is None and message.type == USER_SNAPSHOT and "class_teacher_username" in message.user:
        # a snapshot is the whole state: no teacher there is none here
        fields["class_teacher"] = None
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


Reason = ConflictingUserSyncLog.Reason


@dataclass(frozen=True)
class SyncConflict:
    """Why a message is not applied: its kind (stored as the conflict's reason_code, what the
    admin filters on) and the words support reads. Each kind is made here only, so both paths
    give the same code and the same reason for the same case."""

    code: Reason
    reason: str

    @classmethod
    def unknown_user(cls, message: SyncMessage) -> "SyncConflict":
        # how an update that overtook its create is parked (see sync_conflicts_apply_waiting)
        return cls(Reason.UNKNOWN_USER, f"unknown user: no user from {message.source} #{message.source_id} here")

    @classmethod
    def username_exists(cls, username: str) -> "SyncConflict":
        return cls(Reason.USERNAME_TAKEN, f"username {username!r} already exists")

    @classmethod
    def username_of_another_user(cls, username: str) -> "SyncConflict":
        return cls(Reason.USERNAME_TAKEN, f"username {username!r} belongs to another user here")

    @classmethod
    def stale(cls, message: SyncMessage, last_version: int) -> "SyncConflict":
        return cls(Reason.STALE, f"stale: version {message.version} is not newer than {last_version}")

    @classmethod
    def invalid(cls, exc: ValidationError) -> "SyncConflict":
        """'invalid: field: message; ...' so support sees which field was wrong."""
        if hasattr(exc, "error_dict"):
            parts = [f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
        else:
            parts = exc.messages
        return cls(Reason.INVALID, "invalid: " + "; ".join(parts))

    @classmethod
    def existing_data(cls, exc: IntegrityError) -> "SyncConflict":
        return cls(Reason.EXISTING_DATA, f"conflicts with existing data: {exc}")

    @classmethod
    def different_body(cls, message: SyncMessage) -> "SyncConflict":
        return cls(
            Reason.DIFFERENT_BODY,
            f"message_id {message.message_id} was already handled with a different body: not applied",
        )

    @classmethod
    def undecodable(cls, exc: PoisonMessage) -> "SyncConflict":
        return cls(Reason.UNDECODABLE, f"undecodable: {exc}")


def snapshot_is_outdated(*, message: SyncMessage, link: SyncedUserLink | None) -> bool:
    """A snapshot applies when its version is at least the one applied: a hand edit here does not
    move the version, so a snapshot of the same version puts the user back as the sender has it."""
    return message.type == USER_SNAPSHOT and link is not None and message.version < link.last_version


def sync_conflict_find(
    *,
    message: SyncMessage,
    username: str,
    link: SyncedUserLink | None,
    username_held_by_other: Callable[[str, int | None], bool],
) -> SyncConflict | None:
    """The conflict that keeps a message with valid values from being applied, or None.

    `link` is the message's user here (None: none yet). `username_held_by_other(username, user_id)`
    says whether a user here other than `user_id` (any user, for None) holds the username: each
    path answers from what it has read, and it is asked only when the answer matters.
    """
    if link is None:
        # a create or a snapshot makes the user; an update needs it here first
        if message.type == USER_UPDATED:
            return SyncConflict.unknown_user(message)
        if username_held_by_other(username, None):
            return SyncConflict.username_exists(username)
        return None
    if message.version < link.last_version or (message.version == link.last_version and message.type != USER_SNAPSHOT):
        return SyncConflict.stale(message, link.last_version)
    if username_held_by_other(username, link.user_id):
        return SyncConflict.username_of_another_user(username)
    return None


def sync_conflict_log_build(*, message: SyncMessage, conflict: SyncConflict) -> ConflictingUserSyncLog:
    """The conflict's row for support, not saved yet (one path saves it, the other inserts many)."""
    return ConflictingUserSyncLog(
        message_id=message.message_id,
        message_type=message.type,
        exchange=message.exchange,
        queue=message.queue,
        source=message.source,
        source_id=message.source_id,
        version=message.version,
        raw_body=conflict_raw_body(message),
        reason=conflict.reason[:500],
        reason_code=conflict.code,
    )
