"""Set-based apply of a batch of user messages: the consumer's fast path.

The rules of `users.sync_rules`, as `users.sync.user_sync_apply` follows them (inbox dedupe,
conflicts, stale versions, no echo), but a batch of N messages costs about ten queries instead of
twenty per message. Messages are split into rounds in which each source user appears once, so a
create and its later update in the same batch apply in order. If a round hits a uniqueness race
(another consumer, or a local user created meanwhile) it is rolled back and applied message by
message with the single path. Rows are written with `users.sync_rows` (multi-row INSERTs, and
UPDATEs joining a table of values, without the ORM's per-value compile).
"""

import copy
import logging

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from users.models import (
    ConflictingUserSyncLog,
    SyncedUserLink,
    User,
    UserSyncInbox,
    user_change_revokes_tokens,
    user_codes_allocate,
)
from users.sync import user_sync_apply
from users.sync_message import SyncMessage
from users.sync_payload import PRIVILEGE_FIELDS
from users.sync_rows import instances_insert, instances_update, rows_insert
from users.sync_rules import (
    APPLIED,
    APPLIED_FIELDS,
    CONFLICT,
    DUPLICATE,
    OUTDATED,
    SyncConflict,
    snapshot_is_outdated,
    sync_conflict_find,
    sync_conflict_log_build,
    user_fields_from_message,
)
from users.tokens import tokens_blacklist_outstanding

# every field an update may change (privilege flags only change when the setting allows it)
UPDATED_FIELDS = [*APPLIED_FIELDS, *PRIVILEGE_FIELDS, "class_teacher", "updated_at"]
USER_FIELD_NAMES = frozenset(f.name for f in User._meta.concrete_fields)

logger = logging.getLogger(__name__)


def _rounds(messages: list[SyncMessage]) -> list[list[tuple[int, SyncMessage]]]:
    rounds: list[list[tuple[int, SyncMessage]]] = []
    seen_in: list[set] = []
    for index, message in enumerate(messages):
        key = (message.source, message.source_id)
        # the first round after the last one holding this key keeps the order per user
        target = 0
        for number, keys in enumerate(seen_in):
            if key in keys:
                target = number + 1
        if target == len(rounds):
            rounds.append([])
            seen_in.append(set())
        rounds[target].append((index, message))
        seen_in[target].add(key)
    return rounds


class _Round:
    def __init__(self, items: list[tuple[int, SyncMessage]]):
        self.items = items
        self.outcomes: dict[int, str] = {}
        self.conflicts: list[ConflictingUserSyncLog] = []
        self.to_create: list[tuple[SyncMessage, User]] = []
        self.to_update: list[tuple[SyncMessage, User, User, SyncedUserLink]] = []

    def conflict(self, index: int, message: SyncMessage, conflict: SyncConflict) -> None:
        self.outcomes[index] = CONFLICT
        self.conflicts.append(sync_conflict_log_build(message=message, conflict=conflict))

    def apply(self) -> dict[int, str]:
        messages = [message for _, message in self.items]
        # message_id -> body digest ("" for inbox rows written before digests were kept)
        seen = dict(
            UserSyncInbox.objects.filter(message_id__in=[m.message_id for m in messages]).values_list(
                "message_id", "body_sha256"
            )
        )
        fresh = []
        for index, message in self.items:
            if message.message_id not in seen:
                seen[message.message_id] = message.body_sha256
                fresh.append((index, message))
            elif seen[message.message_id] and seen[message.message_id] != message.body_sha256:
                # another body under a handled id is the sender's bug: kept for support, not dropped
                self.conflict(index, message, SyncConflict.different_body(message))
            else:
                self.outcomes[index] = DUPLICATE
        if not fresh:
            instances_insert(objs=self.conflicts)
            return self.outcomes
        self._plan(fresh)
        self._write(fresh)
        return self.outcomes

    def _plan(self, fresh: list[tuple[int, SyncMessage]]) -> None:
        by_source: dict[str, list[int]] = {}
        for _, message in fresh:
            by_source.setdefault(message.source, []).append(message.source_id)
        link_filter = Q()
        for source, ids in by_source.items():
            link_filter |= Q(source=source, source_id__in=ids)
        links = {
            (link.source, link.source_id): link
            for link in SyncedUserLink.objects.select_for_update().select_related("user").filter(link_filter)
        }
        wanted = {message.user["username"] for _, message in fresh}
        taken = dict(User.objects.filter(username__in=wanted).values_list("username", "pk"))
        # a hostile teacher "username" may be a list or a dict: unhashable, so filter before the set
        teachers = {t for _, m in fresh if isinstance(t := m.user.get("class_teacher_username"), str)}
        teacher_by_name = {u.username: u for u in User.objects.filter(username__in=teachers)}

        def username_held_by_other(username: str, user_id: int | None) -> bool:
            # `taken` maps a username to its user's pk, None for a user this round creates
            return username in taken and (user_id is None or taken[username] != user_id)

        for index, message in fresh:
            if snapshot_is_outdated(message=message, link=links.get((message.source, message.source_id))):
                self.outcomes[index] = OUTDATED
                continue
            try:
                fields = user_fields_from_message(message, teachers=teacher_by_name)
            except ValidationError as exc:
                self.conflict(index, message, SyncConflict.invalid(exc))
                continue
            username = fields["username"]
            link = links.get((message.source, message.source_id))
            conflict = sync_conflict_find(
                message=message, username=username, link=link, username_held_by_other=username_held_by_other
            )
            if conflict is not None:
                self.conflict(index, message, conflict)
            elif link is None:
                user = User()
                if self._fill(index, message, user, fields):
                    taken[username] = None
                    self.to_create.append((message, user))
                    self.outcomes[index] = APPLIED
            else:
                before = copy.copy(link.user)
                if self._fill(index, message, link.user, fields):
                    taken.pop(before.username, None)
                    taken[username] = link.user_id
                    link.last_version = message.version
                    self.to_update.append((message, before, link.user, link))
                    self.outcomes[index] = APPLIED

    def _fill(self, index: int, message: SyncMessage, user: User, fields: dict) -> bool:
        for name, value in fields.items():
            if name == "password":
                user.password = value or "!"
            else:
                setattr(user, name, value)
        if not user.password:
            user.set_unusable_password()
        user.email = User.objects.normalize_email(user.email)
        try:
            # only what the message set can be invalid; uniqueness was checked for the whole round,
            # and the class teacher was just read from the database (validating it queries again)
            user.clean_fields(exclude=USER_FIELD_NAMES.difference(fields.keys() - {"class_teacher"}))
        except ValidationError as exc:
            self.conflict(index, message, SyncConflict.invalid(exc))
            return False
        return True

    def _write(self, fresh: list[tuple[int, SyncMessage]]) -> None:
        now = timezone.now()
        if self.to_create:
            codes = user_codes_allocate(count=len(self.to_create))
            users = []
            for (_, user), code in zip(self.to_create, codes, strict=True):
                user.user_code = code
                user.registered_on = user.updated_at = now
                users.append(user)
            instances_insert(objs=users)
            if any(user.pk is None for user in users):  # backends without RETURNING
                ids = dict(User.objects.filter(user_code__in=codes).values_list("user_code", "pk"))
                for user in users:
                    user.pk = ids[user.user_code]
            rows_insert(
                model=SyncedUserLink,
                rows=[
                    {"source": m.source, "source_id": m.source_id, "user_id": u.pk, "last_version": m.version}
                    for m, u in self.to_create
                ],
            )
        if self.to_update:
            self._update_users(now)
            links = [link for *_, link in self.to_update]
            for link in links:
                link.updated_at = now  # as link.save() stamps it on the single path
            instances_update(objs=links, fields=["last_version", "updated_at"])
        self._audit(now)
        instances_insert(objs=self.conflicts)
        rows_insert(
            model=UserSyncInbox,
            rows=[
                {
                    "message_id": m.message_id,
                    "source": m.source,
                    "outcome": self.outcomes[index],
                    "body_sha256": m.body_sha256,
                }
                for index, m in fresh
            ],
        )

    def _update_users(self, now) -> None:
        """One bulk UPDATE of the round's users. Those whose password hash changes or who are
        deactivated lose every token, as User.save sees to on the single path: their generation
        moves on in the same UPDATE (added to whatever is stored) and their refresh tokens are
        blacklisted."""
        users = [user for _, _, user, _ in self.to_update]
        revoked = {user.pk for _, before, user, _ in self.to_update if user_change_revokes_tokens(before, user)}
        for user in users:
            user.updated_at = now
        added = {"token_generation": [1 if user.pk in revoked else 0 for user in users]} if revoked else None
        instances_update(objs=users, fields=UPDATED_FIELDS, added=added)
        if revoked:
            tokens_blacklist_outstanding(user_ids=revoked)
            for _, before, user, _ in self.to_update:
                # as stored: the rows are locked since the round read them
                user.token_generation = before.token_generation + (1 if user.pk in revoked else 0)

    def _audit(self, now) -> None:
        content_type = ContentType.objects.get_for_model(User)
        entries = []
        # diff only the fields a message carries: the rest cannot have changed
        for message, user in self.to_create:
            changes = _changes(None, user, self._diffed(message))
            entries.append(self._entry(content_type, message, user, LogEntry.Action.CREATE, changes, now))
        for message, before, user, _ in self.to_update:
            changes = _changes(before, user, self._diffed(message))
            if changes:
                entries.append(self._entry(content_type, message, user, LogEntry.Action.UPDATE, changes, now))
        rows_insert(model=LogEntry, rows=entries)

    @staticmethod
    def _diffed(message: SyncMessage) -> list[str]:
        return [name for name in UPDATED_FIELDS if name in message.user and name != "password"]

    @staticmethod
    def _entry(content_type, message: SyncMessage, user: User, action, changes, now) -> dict:
        # a LogEntry row: the columns left out take their defaults, as in LogEntry(...)
        return {
            "content_type_id": content_type.pk,
            "object_pk": str(user.pk),
            "object_id": user.pk,
            "object_repr": str(user),
            "action": action,
            "changes": changes or None,
            "timestamp": now,
            "additional_data": {"sync": {"source": message.source, "message_id": str(message.message_id)}},
        }


def _changes(before: User | None, after: User, fields: list[str]) -> dict[str, list[str]]:
    """auditlog's change format ({field: [old, new]} as text, "None" for nothing), for the given
    fields only; model_instance_diff compares every field and dominated the apply time."""
    changes = {}
    for name in fields:
        attname = "class_teacher_id" if name == "class_teacher" else name
        old = "None" if before is None else str(getattr(before, attname))
        new = str(getattr(after, attname))
        if old != new:
            changes[name] = [old, new]
    return changes


def user_sync_apply_batch(*, messages: list[SyncMessage]) -> list[str]:
    """Apply messages in order, each exactly once; returns one outcome per message."""
    outcomes: dict[int, str] = {}
    for items in _rounds(messages):
        try:
            with transaction.atomic():
                outcomes.update(_Round(items).apply())
        except IntegrityError as exc:
            logger.info("batch round of %d hit a uniqueness race (%s); applying one by one", len(items), exc)
            for index, message in items:
                outcomes[index] = user_sync_apply(message=message)
    return [outcomes[index] for index in range(len(messages))]
