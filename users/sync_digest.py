"""Digests of synced users by id range, the same on both sides: the sender's over its users, the
receiver's over the users it holds for that sender (through the sync links, keyed by the sender's
user id). Equal digests mean equal users; a range whose hash or count differs has drifted.

Each range's hash is a SHA-256 over one canonical line per user, in id order: the id and the values
of DIGEST_FIELDS. The rows are streamed from the database in id order, so a digest of a million
users holds one range's hash state in memory at a time."""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

from users.models import ACADEMIC_FIELDS, NAME_FIELDS, PERSONAL_FIELDS, SyncedUserLink, User

# the values a receiver keeps exactly as sent. Left out: what a receiver sets itself (user_code,
# registered_on, updated_at, profile_img), the privileges it may refuse (is_staff, is_superuser,
# and user_type, whose "admin" it refuses too) and the timestamps whose precision another
# database may round (date_joined, deleted_at: is_deleted says whether the user is deleted)
DIGEST_FIELDS = (
    "username",
    "email",
    *NAME_FIELDS,
    *PERSONAL_FIELDS,
    *ACADEMIC_FIELDS,
    "is_active",
    "is_deleted",
    "password",
)
PASSWORD_INDEX = DIGEST_FIELDS.index("password")
STREAM_CHUNK = 2000


@dataclass(frozen=True)
class RangeDigest:
    start: int
    count: int
    hash: str

    def as_json(self) -> dict:
        return {"start": self.start, "count": self.count, "hash": self.hash}


def _line(source_id: int, values: tuple) -> bytes:
    values = list(values)
    password = values[PASSWORD_INDEX]
    if not password or password.startswith(UNUSABLE_PASSWORD_PREFIX):
        # a receiver stores a fresh unusable password of its own for an unusable one
        values[PASSWORD_INDEX] = UNUSABLE_PASSWORD_PREFIX
    return json.dumps([source_id, *values], default=str, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def digest_ranges(*, rows: Iterable[tuple], range_size: int) -> Iterator[RangeDigest]:
    """One RangeDigest per range holding a user: `rows` are (id, *DIGEST_FIELDS values) in id order."""
    start, count, digest = None, 0, None
    for source_id, *values in rows:
        range_start = source_id - source_id % range_size
        if range_start != start:
            if start is not None:
                yield RangeDigest(start, count, digest.hexdigest())
            start, count, digest = range_start, 0, hashlib.sha256()
        count += 1
        digest.update(_line(source_id, tuple(values)))
    if start is not None:
        yield RangeDigest(start, count, digest.hexdigest())


def sent_users_digest(*, range_size: int) -> list[RangeDigest]:
    """The sender's digest: every user it has (soft-deleted ones too; their snapshot deletes them)."""
    rows = User.objects.order_by("pk").values_list("pk", *DIGEST_FIELDS).iterator(chunk_size=STREAM_CHUNK)
    return list(digest_ranges(rows=rows, range_size=range_size))


def held_users_digest(*, source: str, range_size: int) -> list[RangeDigest]:
    """The receiver's digest of what it holds for `source`, keyed by the source's user ids."""
    rows = (
        SyncedUserLink.objects.filter(source=source)
        .order_by("source_id")
        .values_list("source_id", *(f"user__{name}" for name in DIGEST_FIELDS))
        .iterator(chunk_size=STREAM_CHUNK)
    )
    return list(digest_ranges(rows=rows, range_size=range_size))
