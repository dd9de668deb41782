"""message_body_redact: what the admin shows of a message body, never a password hash."""

import json

from common.admin.redaction import HASH_HIDDEN, TOO_DEEP, message_body_redact

HASH = "pbkdf2_sha256$1000000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA="
ARGON2 = "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaGhhc2g"


def user_body(password=HASH):
    return {"type": "user.updated", "source": "a", "source_id": 7, "user": {"username": "ann", "password": password}}


def test_the_password_of_a_user_body_is_hidden_and_the_rest_kept():
    assert message_body_redact(body=user_body()) == user_body(password=HASH_HIDDEN)


def test_the_body_given_is_left_as_it_was():
    body = user_body()

    message_body_redact(body=body)

    assert body["user"]["password"] == HASH


def test_passwords_in_nested_dicts_and_lists_are_hidden():
    body = {"users": [{"password": HASH}, {"profile": {"old_password": ARGON2}}]}

    assert message_body_redact(body=body) == {
        "users": [{"password": HASH_HIDDEN}, {"profile": {"old_password": HASH_HIDDEN}}]
    }


def test_an_empty_or_missing_password_is_shown_as_it_is():
    assert message_body_redact(body={"password": ""}) == {"password": ""}
    assert message_body_redact(body={"password": None}) == {"password": None}


def test_a_hash_under_another_key_is_hidden():
    body = {"user": {"note": f"was {HASH} before", "pwd": ARGON2}}

    assert message_body_redact(body=body) == {"user": {"note": f"was {HASH_HIDDEN} before", "pwd": HASH_HIDDEN}}


def test_json_text_comes_back_as_json_text_with_the_hash_hidden():
    shown = message_body_redact(body=json.dumps(user_body()))

    assert json.loads(shown) == user_body(password=HASH_HIDDEN)


def test_json_text_spelling_the_key_and_hash_with_escapes_is_redacted_once_decoded():
    text = '{"user": {"pass\\u0077ord": "md5\\u0024salt\\u0024abcdef"}}'

    assert json.loads(message_body_redact(body=text)) == {"user": {"password": HASH_HIDDEN}}


def test_text_that_is_not_json_has_its_password_pairs_and_hashes_hidden():
    text = f'{{"user": {{"username": "ann", "password": "{HASH}", "other": "{ARGON2}"'  # cut short

    shown = message_body_redact(body=text)

    assert HASH not in shown and ARGON2 not in shown
    assert shown == f'{{"user": {{"username": "ann", "password": "{HASH_HIDDEN}", "other": "{HASH_HIDDEN}"'


def test_text_without_a_hash_is_unchanged():
    assert message_body_redact(body="not json at all: $5 for md5sum") == "not json at all: $5 for md5sum"


def test_a_body_nested_too_deeply_to_walk_is_not_shown():
    deep = {}
    for _ in range(5000):
        deep = {"d": deep}

    assert message_body_redact(body=deep) == TOO_DEEP
