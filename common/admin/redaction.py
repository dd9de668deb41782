"""What the admin shows of a message body: everything but password hashes.

User messages carry the password hash because the receiving deployment needs it to let the user
log in; nobody reading the outbox or a sync conflict does, whatever their role. The stored body and
what is published stay as they are: only what is rendered or exported goes through here.
"""

import json
import re

HASH_HIDDEN = "<hash hidden>"
# shown instead of a body too deeply nested to walk
TOO_DEEP = "<body nested too deeply to show>"
# a key holding a password (the body's "password", or any other name with it in)
_PASSWORD_KEY = "password"
# Django's password hashes read "<algorithm>$...": argon2's and bcrypt's carry more "$" and commas
_HASH = re.compile(
    r"\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|unsalted_sha1|unsalted_md5|sha1|md5|crypt)"
    r"\$[^\s\"'\\]+"
)
# "password": "..." in text that is not valid JSON (a body cut short, or JSON inside a JSON string)
_PASSWORD_PAIR = re.compile(r'("[^"\\]*password[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)


def message_body_redact(*, body):
    """A copy of `body` with every password hash replaced by HASH_HIDDEN.

    `body` is what a JSONField holds (dicts, lists, scalars) or the text of one: text that parses
    as a JSON object or array comes back as JSON text redacted key by key (a hash written with
    escapes would otherwise be unescaped by whoever pretty-prints it); other text is searched for
    password pairs and hash-shaped words. An empty password (no hash) is shown as it is."""
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return _text_redact(body)
        if isinstance(parsed, dict | list):
            try:
                return json.dumps(_redact(parsed), ensure_ascii=False)
            except RecursionError:
                return _text_redact(body)
        return _text_redact(body)
    try:
        return _redact(body)
    except RecursionError:
        return TOO_DEEP


def _redact(value):
    if isinstance(value, dict):
        return {
            key: (HASH_HIDDEN if _PASSWORD_KEY in str(key).lower() and item not in (None, "") else _redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, str):
        return _text_redact(value)
    return value


def _text_redact(text: str) -> str:
    return _HASH.sub(HASH_HIDDEN, _PASSWORD_PAIR.sub(rf'\1"{HASH_HIDDEN}"', text))
