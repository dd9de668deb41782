"""Hostile and malformed user messages against the real broker and the real consumer: each is
rejected to the dead-letter queue (reason logged) or parked as a conflict (reason kept), the
good messages around it are all applied, and the consumer keeps consuming."""

import json
import logging
import time
import uuid

import pika
import pytest
from django.contrib.auth.hashers import get_hasher
from django.contrib.auth.models import Group, Permission

from users.models import ConflictingUserSyncLog, User, UserSyncInbox
from users.sync_consumer import UserSyncConsumer
from users.sync_rules import REDACTED_NOT_A_HASH, REDACTED_UNKNOWN_KEY
from users.tests.test_sync_consumer import PASSWORD, PASSWORD_HASH, user_body

PLAINTEXT = "Plain-Secret-Never-Stored-7"
NEW_ID = object()

pytestmark = pytest.mark.django_db


class HostileSender:
    """Publishes to the test route as any other deployment could, confirmed, so the messages are
    queued before the consumer starts; `message_id=None` sends none at all."""

    def __init__(self, rabbit):
        rabbit.declare()
        self.route = rabbit.route
        self.channel = rabbit.channel()
        self.channel.confirm_delivery()
        self.version = 0

    def send(self, body, *, message_id=NEW_ID, headers=None) -> str | None:
        self.version += 1
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        message_id = str(uuid.uuid4()) if message_id is NEW_ID else message_id
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=message_id,
            headers={"x-outbox-id": self.version} if headers is None else headers,
        )
        self.channel.basic_publish(self.route.exchange, self.route.queue, raw, properties)
        return message_id


@pytest.fixture
def sender(rabbit):
    return HostileSender(rabbit)


def run_once():
    consumer = UserSyncConsumer(once=True)
    consumer.run()
    return consumer


def dead_letters(rabbit, expected: int, timeout: float = 30.0) -> list:
    """What reached the DLQ once `expected` messages arrived (dead-lettering is asynchronous)."""
    deadline = time.monotonic() + timeout
    while rabbit.message_count(rabbit.route.deadletter_queue) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return rabbit.get_all(rabbit.route.deadletter_queue)


def rejections_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "to the dead-letter queue" in r.getMessage()]


def surrounded(sender, send_hostile) -> str | None:
    """A good message, the hostile one, a good one: one batch, poison in the middle."""
    sender.send(user_body("remote.before"))
    message_id = send_hostile()
    sender.send(user_body("remote.after"))
    return message_id


def assert_good_neighbours_applied(rabbit, consumer) -> None:
    assert User.objects.filter(username__in=["remote.before", "remote.after"]).count() == 2
    assert rabbit.message_count(rabbit.route.queue) == 0
    assert consumer.processed + consumer.failed == 3


DEEP = b"[" * 100_000 + b"]" * 100_000
LONG_NUMBER = b'{"type": "user.created", "source": "campus-north", "source_id": ' + b"9" * 5000 + b', "user": {}}'
REJECTED = {
    "not-json": ({"body": b"this is not json{"}, "not UTF-8 JSON"),
    "invalid-utf8": ({"body": b'{"type": "user.created", "source": "\xff\xfe"}'}, "not UTF-8 JSON"),
    "json-list": ({"body": b'[{"type": "user.created"}]'}, "JSON list, not an object"),
    "json-number": ({"body": b"42"}, "JSON int, not an object"),
    "json-string": ({"body": json.dumps(json.dumps(user_body("x"))).encode()}, "JSON str, not an object"),
    "json-null": ({"body": b"null"}, "JSON NoneType, not an object"),
    "nested-too-deeply": ({"body": DEEP}, "nested too deeply"),
    "number-of-5000-digits": ({"body": LONG_NUMBER}, "not UTF-8 JSON"),
    "missing-type": ({"body": {k: v for k, v in user_body("x").items() if k != "type"}}, "unknown message type"),
    "unknown-type": ({"body": user_body("x", message_type="user.deleted")}, "unknown message type"),
    "type-is-a-list": ({"body": user_body("x") | {"type": ["user.created"]}}, "unknown message type"),
    "missing-source": ({"body": {k: v for k, v in user_body("x").items() if k != "source"}}, "source must be"),
    "source-with-nul": ({"body": user_body("x") | {"source": "north\x00"}}, "source must be"),
    "missing-source-id": ({"body": {k: v for k, v in user_body("x").items() if k != "source_id"}}, "source_id"),
    "source-id-as-string": ({"body": user_body("x", source_id="12")}, "source_id"),
    "source-id-beyond-bigint": ({"body": user_body("x", source_id=2**63)}, "source_id"),
    "source-id-boolean": ({"body": user_body("x", source_id=True)}, "source_id"),
    "missing-user": ({"body": {k: v for k, v in user_body("x").items() if k != "user"}}, "user must be"),
    "user-is-a-list": ({"body": user_body("x") | {"user": [{"username": "x"}]}}, "user must be"),
    "missing-username": ({"body": user_body("x") | {"user": {"email": "x@north.example"}}}, "user must be"),
    "username-as-int": ({"body": user_body("x") | {"user": {"username": 42}}}, "user must be"),
    "username-as-list": ({"body": user_body("x") | {"user": {"username": ["x"]}}}, "user must be"),
    "lone-surrogate": ({"body": json.dumps(user_body("x", first_name="\ud800")).encode()}, "lone surrogate"),
    "missing-message-id": ({"body": user_body("x"), "message_id": None}, "is not a UUID"),
    "message-id-not-a-uuid": ({"body": user_body("x"), "message_id": "12345"}, "is not a UUID"),
    "missing-version-header": ({"body": user_body("x"), "headers": {}}, "x-outbox-id"),
    "version-header-as-string": ({"body": user_body("x"), "headers": {"x-outbox-id": "7"}}, "x-outbox-id"),
}


@pytest.mark.parametrize(("hostile", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_undecodable_message_is_dead_lettered_with_its_reason_and_its_batch_applied(
    rabbit, sender, caplog, hostile, reason
):
    caplog.set_level(logging.WARNING, logger="pubsub.consumer")
    surrounded(sender, lambda: sender.send(**hostile))

    consumer = run_once()

    [(_, body)] = dead_letters(rabbit, 1)
    assert body == (hostile["body"] if isinstance(hostile["body"], bytes) else json.dumps(hostile["body"]).encode())
    [logged] = rejections_logged(caplog)
    assert reason in logged
    assert (consumer.processed, consumer.failed) == (2, 1)
    assert_good_neighbours_applied(rabbit, consumer)
    assert not ConflictingUserSyncLog.objects.exists()


def test_body_over_the_size_limit_is_dead_lettered_before_it_is_parsed(settings, rabbit, sender, caplog):
    settings.USER_SYNC_MAX_BODY_BYTES = 4096
    caplog.set_level(logging.WARNING, logger="pubsub.consumer")
    surrounded(sender, lambda: sender.send(b"[" * 5000))

    consumer = run_once()

    assert len(dead_letters(rabbit, 1)) == 1
    assert "exceeds USER_SYNC_MAX_BODY_BYTES" in rejections_logged(caplog)[0]
    assert_good_neighbours_applied(rabbit, consumer)


PARKED = {
    "dob-garbage": ({"dob": "garbage"}, "dob: is not a valid ISO 8601 date"),
    "dob-as-int": ({"dob": 20010203}, "dob: must be a string"),
    "dob-impossible": ({"dob": "2001-02-30"}, "dob: is not a valid ISO 8601 date"),
    "date-joined-beyond-year-9999-in-utc": (
        {"date_joined": "9999-12-31T23:59:59-14:00"},
        "date_joined: is out of range",
    ),
    "date-joined-null": ({"date_joined": None}, "date_joined: must not be null"),
    "email-as-list": ({"email": ["a@north.example"]}, "email: must be a string"),
    "first-name-as-object": ({"first_name": {"$gt": ""}}, "first_name: must be a string"),
    "phone-as-int": ({"phone_no": 5551234}, "phone_no: must be a string"),
    "flag-as-string": ({"is_active": "yes"}, "is_active: must be true or false"),
    "last-name-with-nul": ({"last_name": "Smith\x00"}, "last_name: must not contain NUL"),
    "user-type-unknown": ({"user_type": "root"}, "user_type:"),
    "plaintext-password": ({"password": PLAINTEXT}, "password: is not a password hash"),
    "malformed-hash": ({"password": f"{get_hasher().algorithm}${PLAINTEXT}"}, "password: is not a password hash"),
    "password-as-int": ({"password": 1234}, "password: must be a string"),
}


@pytest.mark.parametrize(("fields", "reason"), PARKED.values(), ids=PARKED.keys())
def test_a_message_with_a_wrong_value_is_parked_as_a_conflict_and_its_batch_applied(rabbit, sender, fields, reason):
    message_id = surrounded(sender, lambda: sender.send(user_body("remote.hostile", **fields)))

    consumer = run_once()

    conflict = ConflictingUserSyncLog.objects.get()
    assert (str(conflict.message_id), conflict.version) == (message_id, 2)
    assert reason in conflict.reason
    assert not User.objects.filter(username="remote.hostile").exists()
    assert (consumer.processed, consumer.failed) == (3, 0)
    assert_good_neighbours_applied(rabbit, consumer)
    assert dead_letters(rabbit, 0) == []


@pytest.mark.parametrize(
    "username", ["ali\x00ce", "a" * 10_000, "bad name!"], ids=["nul-byte", "ten-thousand-chars", "not-allowed-chars"]
)
def test_a_username_this_deployment_would_not_accept_is_parked(rabbit, sender, username):
    surrounded(sender, lambda: sender.send(user_body(username)))

    consumer = run_once()

    assert "username:" in ConflictingUserSyncLog.objects.get().reason
    assert User.objects.count() == 2
    assert_good_neighbours_applied(rabbit, consumer)


def test_a_plaintext_password_is_never_stored(rabbit, sender):
    sender.send(user_body("remote.hostile", password=PLAINTEXT))

    run_once()

    conflict = ConflictingUserSyncLog.objects.get()
    assert PLAINTEXT not in conflict.raw_body
    assert json.loads(conflict.raw_body)["user"]["password"] == REDACTED_NOT_A_HASH
    assert not User.objects.filter(password__contains=PLAINTEXT).exists()


def test_text_after_an_unusable_password_marker_is_not_stored(sender):
    sender.send(user_body("remote.alice", password=f"!{PLAINTEXT}"))

    run_once()

    user = User.objects.get(username="remote.alice")
    assert not user.has_usable_password()
    assert PLAINTEXT not in user.password


def test_a_hash_far_costlier_than_this_deployments_is_parked(settings, sender):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    sender.send(user_body("remote.alice", password="pbkdf2_sha256$999999999$salt$aGFzaA=="))

    run_once()

    assert "password: costs more" in ConflictingUserSyncLog.objects.get().reason
    assert not User.objects.filter(username="remote.alice").exists()


NOT_ON_THE_ALLOW_LIST = {
    "is_superuser": True,
    "is_staff": True,
    "last_login": "2024-01-01T00:00:00Z",
    "token_generation": 99,
    "id": 1,
    "pk": 1,
    "deleted_by": 1,
    "registered_by": 1,
    "raw_password": PLAINTEXT,
    "password1": PLAINTEXT,
    "plain_password": PLAINTEXT,
    "new_field_from_the_future": {"x": 1},
}


def test_fields_off_the_allow_list_grant_nothing_by_default(sender):
    group = Group.objects.create(name="sync-admins")
    permission = Permission.objects.get(codename="change_user")
    sender.send(user_body("remote.alice", groups=[group.pk], user_permissions=[permission.pk], **NOT_ON_THE_ALLOW_LIST))

    run_once()

    user = User.objects.get(username="remote.alice")
    assert (user.is_superuser, user.is_staff, user.last_login, user.token_generation) == (False, False, None, 0)
    assert not user.groups.exists()
    assert not user.user_permissions.exists()
    assert not user.has_perm("users.change_user")
    assert user.check_password(PASSWORD)


def test_accepting_privileges_applies_the_flags_but_never_groups_or_permissions(settings, sender):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = True
    group = Group.objects.create(name="sync-admins")
    permission = Permission.objects.get(codename="change_user")
    sender.send(user_body("remote.alice", is_superuser=True, groups=[group.pk], user_permissions=[permission.pk]))

    run_once()

    user = User.objects.get(username="remote.alice")
    assert user.is_superuser
    assert not user.groups.exists()
    assert not user.user_permissions.exists()


def test_a_privilege_flag_that_is_not_a_boolean_is_parked_when_privileges_are_accepted(settings, sender):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = True
    sender.send(user_body("remote.alice", is_superuser="true"))

    run_once()

    assert "is_superuser: must be true or false" in ConflictingUserSyncLog.objects.get().reason
    assert not User.objects.filter(is_superuser=True).exists()


def test_keys_off_the_allow_list_are_not_kept_with_a_conflict(sender):
    User.objects.create(username="remote.alice")
    sender.send(user_body("remote.alice", raw_password=PLAINTEXT))

    run_once()

    conflict = ConflictingUserSyncLog.objects.get()
    assert PLAINTEXT not in conflict.raw_body
    kept = json.loads(conflict.raw_body)["user"]
    assert kept["raw_password"] == REDACTED_UNKNOWN_KEY
    assert kept["password"] == PASSWORD_HASH  # what applying it again needs is still there


@pytest.mark.parametrize("teacher", [["mr.smith"], {"username": "mr.smith"}, 7], ids=["list", "object", "int"])
def test_a_class_teacher_that_is_not_a_username_is_ignored(rabbit, sender, teacher):
    User.objects.create(username="mr.smith")
    surrounded(sender, lambda: sender.send(user_body("remote.alice", class_teacher_username=teacher)))

    consumer = run_once()

    assert User.objects.get(username="remote.alice").class_teacher is None
    assert_good_neighbours_applied(rabbit, consumer)


def test_the_same_message_id_with_the_same_body_is_applied_once_without_a_conflict(rabbit, sender):
    message_id = sender.send(user_body("remote.alice"))
    sender.send(user_body("remote.alice"), message_id=message_id, headers={"x-outbox-id": 1})

    consumer = run_once()

    assert (consumer.processed, consumer.failed) == (2, 0)
    assert UserSyncInbox.objects.get().outcome == "applied"
    assert not ConflictingUserSyncLog.objects.exists()


def test_the_same_message_id_with_another_body_in_one_batch_is_parked(rabbit, sender):
    message_id = sender.send(user_body("remote.alice"))
    sender.send(user_body("remote.mallory"), message_id=message_id)

    consumer = run_once()

    assert (consumer.processed, consumer.failed) == (2, 0)
    assert list(User.objects.values_list("username", flat=True)) == ["remote.alice"]
    conflict = ConflictingUserSyncLog.objects.get()
    assert "already handled with a different body" in conflict.reason
    assert json.loads(conflict.raw_body)["user"]["username"] == "remote.mallory"


def test_the_same_message_id_with_another_body_later_is_parked(rabbit, sender):
    message_id = sender.send(user_body("remote.alice"))
    run_once()
    sender.send(user_body("remote.alice", email="changed@north.example"), message_id=message_id)

    run_once()

    assert User.objects.get(username="remote.alice").email == ""
    assert "already handled with a different body" in ConflictingUserSyncLog.objects.get().reason
    assert UserSyncInbox.objects.count() == 1


@pytest.mark.mariadb
def test_a_username_differing_only_in_case_mid_batch_falls_back_and_applies_the_rest(rabbit, sender):
    # MariaDB's collation makes "Remote.Alice" and "remote.alice" one username: the batch insert
    # fails on the unique index and the round is applied again one message at a time
    sender.send(user_body("remote.alice", source_id=1))
    sender.send(user_body("Remote.Alice", source_id=2))
    sender.send(user_body("remote.bob", source_id=3))

    consumer = run_once()

    assert sorted(User.objects.values_list("username", flat=True)) == ["remote.alice", "remote.bob"]
    assert "already exists" in ConflictingUserSyncLog.objects.get().reason
    assert (consumer.processed, consumer.failed) == (3, 0)


def test_the_running_consumer_keeps_consuming_after_a_burst_of_poison(rabbit, sender):
    consumer = UserSyncConsumer()
    try:
        consumer.step()
        for hostile, _ in REJECTED.values():
            sender.send(**hostile)
        sender.send(user_body("remote.after"))
        deadline = time.monotonic() + 30
        while not User.objects.filter(username="remote.after").exists() and time.monotonic() < deadline:
            consumer.step()
    finally:
        consumer.shutdown()

    assert User.objects.filter(username="remote.after").exists()
    assert consumer.failed == len(REJECTED)
    assert len(dead_letters(rabbit, len(REJECTED))) == len(REJECTED)
