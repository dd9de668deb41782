"""The drift-repair messages that travel with the user messages, on the same queues: a sender's
`sync.digest` and a receiver's `sync.resync_requested`. Decoded here; what fails is poison."""

import json
import uuid
from dataclasses import dataclass

from django.conf import settings

from users.sync_digest import RangeDigest
from users.sync_message import PoisonMessage, _is_bigint, _short

SYNC_DIGEST = "sync.digest"
SYNC_RESYNC_REQUESTED = "sync.resync_requested"
CONTROL_TYPES = (SYNC_DIGEST, SYNC_RESYNC_REQUESTED)
# ranges one digest or request may carry (a million users at the default range size)
MAX_RANGES = 10_000
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class DigestMessage:
    message_id: uuid.UUID
    source: str
    range_size: int
    reply_queue: str
    ranges: list[RangeDigest]
    queue: str


@dataclass(frozen=True)
class ResyncRequest:
    message_id: uuid.UUID
    source: str
    target: str
    queue: str
    ranges: list[list[int]]


def _name(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 255 or "\x00" in value:
        raise PoisonMessage(f"{key} must be a non-empty string of at most 255 characters")
    return value


def _ranges(data: dict) -> list:
    ranges = data.get("ranges")
    if not isinstance(ranges, list) or len(ranges) > MAX_RANGES:
        raise PoisonMessage(f"ranges must be a list of at most {MAX_RANGES}")
    return ranges


def _digest_range(item) -> RangeDigest:
    if (
        not isinstance(item, dict)
        or not _is_bigint(item.get("start"))
        or not _is_bigint(item.get("count"))
        or item["count"] < 0
        or not isinstance(item.get("hash"), str)
        or len(item["hash"]) != 64
        or not set(item["hash"]) <= _HEX
    ):
        raise PoisonMessage(f"a digest range is {{start, count, hash}}: {_short(item)}")
    return RangeDigest(item["start"], item["count"], item["hash"])


def _id_range(item) -> list[int]:
    if not isinstance(item, list) or len(item) != 2 or not all(_is_bigint(end) and end >= 0 for end in item):
        raise PoisonMessage(f"a range is [first id, last id]: {_short(item)}")
    if item[0] > item[1]:
        raise PoisonMessage(f"a range's first id is after its last: {_short(item)}")
    return item


def sync_control_decode(*, body: bytes, message_id, queue: str) -> DigestMessage | ResyncRequest:
    if len(body) > settings.USER_SYNC_MAX_BODY_BYTES:
        raise PoisonMessage(f"body of {len(body)} bytes exceeds USER_SYNC_MAX_BODY_BYTES")
    try:
        parsed_id = uuid.UUID(str(message_id))
    except ValueError:
        raise PoisonMessage(f"message_id {_short(message_id)} is not a UUID") from None
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise PoisonMessage(f"body is not UTF-8 JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise PoisonMessage(f"body is a JSON {type(data).__name__}, not an object")
    if data.get("type") == SYNC_DIGEST:
        range_size = data.get("range_size")
        if not _is_bigint(range_size) or range_size < 1:
            raise PoisonMessage("range_size must be a positive integer")
        ranges = [_digest_range(item) for item in _ranges(data)]
        if any(item.start % range_size for item in ranges):
            raise PoisonMessage("a digest range does not start at a multiple of range_size")
        return DigestMessage(parsed_id, _name(data, "source"), range_size, _name(data, "reply_queue"), ranges, queue)
    if data.get("type") == SYNC_RESYNC_REQUESTED:
        ranges = [_id_range(item) for item in _ranges(data)]
        return ResyncRequest(parsed_id, _name(data, "source"), _name(data, "target"), _name(data, "queue"), ranges)
    raise PoisonMessage(f"unknown message type {_short(data.get('type'))}")
