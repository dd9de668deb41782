"""Decoding a user message from another deployment: what the consumer receives, checked enough to
be applied or kept as a conflict. Whatever fails here is poison, rejected to the dead-letter queue."""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass

from django.conf import settings

from users.sync_payload import USER_MESSAGE_TYPES

# source_id and the x-outbox-id version are stored in BIGINT columns
BIGINT_MAX = 2**63 - 1
# a \uD800-\uDFFF escape: only a lone one makes text that is not Unicode (checked when seen)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class PoisonMessage(ValueError):
    """The message cannot be understood at all; it goes to the dead-letter queue."""


def _short(value) -> str:
    """A hostile value, cut short enough for a log line or a conflict reason."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _is_bigint(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX - 1 <= value <= BIGINT_MAX


def _is_unicode_text(data, raw: str) -> bool:
    """False when a \\u escape left a lone surrogate: no database column can store that."""
    if not _SURROGATE_ESCAPE.search(raw):
        return True
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


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

    @property
    def body_sha256(self) -> str:
        """Kept in the inbox: a second body under a handled message_id is told apart from a redelivery."""
        return hashlib.sha256(self.raw_body.encode("utf-8")).hexdigest()


def sync_message_decode(
    *, body: bytes, message_id, headers: dict | None, exchange: str = "", queue: str = ""
) -> SyncMessage:
    if len(body) > settings.USER_SYNC_MAX_BODY_BYTES:
        raise PoisonMessage(f"body of {len(body)} bytes exceeds USER_SYNC_MAX_BODY_BYTES")
    try:
        parsed_id = uuid.UUID(str(message_id))
    except ValueError:
        raise PoisonMessage(f"message_id {_short(message_id)} is not a UUID") from None
    try:
        raw = body.decode("utf-8")
        data = json.loads(raw)
    except ValueError as exc:
        # JSONDecodeError and UnicodeDecodeError, and an integer of more digits than Python parses
        raise PoisonMessage(f"body is not UTF-8 JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise PoisonMessage("body is not UTF-8 JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise PoisonMessage(f"body is a JSON {type(data).__name__}, not an object")
    message_type = data.get("type")
    if message_type not in USER_MESSAGE_TYPES:
        raise PoisonMessage(f"unknown message type {_short(message_type)}")
    if not _is_unicode_text(data, raw):
        raise PoisonMessage("body is not UTF-8 JSON: a \\u escape leaves a lone surrogate")
    source, source_id, user = data.get("source"), data.get("source_id"), data.get("user")
    if not isinstance(source, str) or not source or len(source) > 255 or "\x00" in source:
        raise PoisonMessage("source must be a non-empty string")
    if not _is_bigint(source_id):
        raise PoisonMessage("source_id must be a 64-bit integer")
    if not isinstance(user, dict) or not isinstance(user.get("username"), str) or not user["username"]:
        raise PoisonMessage("user must be an object with a username")
    version = (headers or {}).get("x-outbox-id")
    if not _is_bigint(version):
        raise PoisonMessage("header x-outbox-id (the message's version) is missing or not a 64-bit integer")
    return SyncMessage(parsed_id, message_type, source, source_id, version, user, raw, exchange, queue)
