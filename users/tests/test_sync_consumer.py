import io
import json
import time
import uuid
import zlib

import pika
import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command

from pubsub.models import QueuePublishHistory
from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserCodeSequence, UserSyncInbox
from users.sync_consumer import UserSyncConsumer
from users.sync_payload import USER_CREATED, USER_UPDATED

PASSWORD = "Correct-Horse-Battery-42"

pytestmark = pytest.mark.django_db


# one hash for every message: the same user sent twice is the same bytes, as a redelivery is
PASSWORD_HASH = make_password(PASSWORD)


def user_body(username, *, source_id=None, message_type=USER_CREATED, **user):
    return {
        "type": message_type,
        "source": "campus-north",
        "source_id": source_id if source_id is not None else zlib.crc32(username.encode()),
        "user": {"username": username, "password": PASSWORD_HASH, "is_active": True} | user,
    }


class Sender:
    """Publishes to the test route the way another deployment's relay does (confirmed, so the
    messages are in the queue before the consumer starts)."""

    def __init__(self, rabbit):
        rabbit.declare()
        self.route = rabbit.route
        self.channel = rabbit.channel()
        self.channel.confirm_delivery()
        self.version = 0

    def send(self, body, *, message_id=None, headers=None):
        self.version += 1
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=str(message_id or uuid.uuid4()),
            headers={"x-outbox-id": self.version} if headers is None else headers,
        )
        self.channel.basic_publish(self.route.exchange, self.route.queue, raw, properties)


@pytest.fixture
def sender(rabbit):
    return Sender(rabbit)


def dead_letters(rabbit, expected, timeout=30.0):
    """The DLQ's message count once `expected` arrived (dead-lettering is asynchronous)."""
    deadline = time.monotonic() + timeout
    while (count := rabbit.message_count(rabbit.route.deadletter_queue)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def run_once():
    consumer = UserSyncConsumer(once=True)
    consumer.run()
    return consumer


def test_user_created_message_is_applied(sender):
    sender.send(user_body("remote.alice"))

    run_once()

    assert User.objects.get(username="remote.alice").check_password(PASSWORD)


def test_applied_messages_are_acked(rabbit, sender):
    sender.send(user_body("remote.alice"))
    sender.send(user_body("remote.bob"))

    consumer = run_once()

    assert consumer.processed == 2
    assert rabbit.message_count(rabbit.route.queue) == 0
    assert rabbit.message_count(rabbit.route.deadletter_queue) == 0


def test_a_redelivered_message_id_is_applied_once(sender):
    message_id = uuid.uuid4()
    body = user_body("remote.alice")
    # the same bytes twice, as a redelivery or a republished row carries them
    sender.send(body, message_id=message_id, headers={"x-outbox-id": 1})
    sender.send(body, message_id=message_id, headers={"x-outbox-id": 1})

    consumer = run_once()

    assert consumer.processed == 2
    assert User.objects.filter(username="remote.alice").count() == 1
    assert UserSyncInbox.objects.count() == 1
    assert not ConflictingUserSyncLog.objects.exists()


def test_a_conflict_is_logged_and_acked_not_dead_lettered(rabbit, sender):
    User.objects.create(username="remote.alice")
    sender.send(user_body("remote.alice"))

    consumer = run_once()

    assert "already exists" in ConflictingUserSyncLog.objects.get().reason
    assert ConflictingUserSyncLog.objects.get().queue == rabbit.route.queue
    assert consumer.processed == 1
    assert dead_letters(rabbit, 0) == 0


def test_a_create_and_its_update_in_one_batch_apply_in_order(sender):
    sender.send(user_body("remote.alice", source_id=5, email="first@north.example"))
    sender.send(user_body("remote.alice", source_id=5, message_type=USER_UPDATED, email="second@north.example"))

    run_once()

    assert User.objects.get(username="remote.alice").email == "second@north.example"
    assert SyncedUserLink.objects.get().last_version == 2


def test_an_update_older_than_the_applied_one_is_a_conflict(sender):
    sender.send(user_body("remote.alice", source_id=5), headers={"x-outbox-id": 10})
    sender.send(
        user_body("remote.alice", source_id=5, message_type=USER_UPDATED, email="old@north.example"),
        headers={"x-outbox-id": 9},
    )

    run_once()

    assert "stale" in ConflictingUserSyncLog.objects.get().reason
    assert User.objects.get(username="remote.alice").email == ""


def test_an_update_for_an_unknown_user_is_a_conflict(sender):
    sender.send(user_body("remote.ghost", message_type=USER_UPDATED))

    run_once()

    assert "unknown user" in ConflictingUserSyncLog.objects.get().reason
    assert not User.objects.filter(username="remote.ghost").exists()


def test_two_creates_of_one_username_in_a_batch_apply_the_first_and_log_the_second(sender):
    sender.send(user_body("remote.alice", source_id=1, email="one@north.example"))
    sender.send(user_body("remote.alice", source_id=2, email="two@north.example"))

    run_once()

    assert User.objects.get(username="remote.alice").email == "one@north.example"
    assert "already exists" in ConflictingUserSyncLog.objects.get().reason


def test_users_created_in_one_batch_get_distinct_local_user_codes(sender):
    for n in range(3):
        sender.send(user_body(f"remote.{n}", user_code="UC0001"))

    run_once()

    codes = list(User.objects.values_list("user_code", flat=True))
    assert len(set(codes)) == 3
    assert None not in codes


def test_a_create_applies_when_the_user_code_counter_row_is_missing(sender):
    UserCodeSequence.objects.all().delete()
    sender.send(user_body("remote.alice"))

    run_once()

    assert User.objects.get(username="remote.alice").user_code


def test_privilege_flags_from_another_deployment_are_ignored_by_default(sender):
    sender.send(user_body("remote.alice", is_staff=True, is_superuser=True))

    run_once()

    user = User.objects.get(username="remote.alice")
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_privilege_flags_apply_when_the_receiver_accepts_them(settings, sender):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = True
    sender.send(user_body("remote.alice", is_staff=True, is_superuser=True))

    run_once()

    user = User.objects.get(username="remote.alice")
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_consuming_writes_no_outbox_row(sender):
    sender.send(user_body("remote.alice", source_id=5))
    sender.send(user_body("remote.alice", source_id=5, message_type=USER_UPDATED, email="new@north.example"))

    run_once()

    assert not QueuePublishHistory.objects.exists()


def test_a_user_without_a_usable_password_is_created_without_one(sender):
    sender.send(user_body("remote.alice", password=make_password(None)))

    run_once()

    assert not User.objects.get(username="remote.alice").has_usable_password()


def test_an_invalid_field_value_is_a_conflict(rabbit, sender):
    sender.send(user_body("remote.alice", email="not-an-email"))

    consumer = run_once()

    assert "invalid" in ConflictingUserSyncLog.objects.get().reason
    assert consumer.processed == 1
    assert dead_letters(rabbit, 0) == 0


GOOD_BODY = json.dumps(user_body("poison.sample")).encode()
POISON = {
    "not-json": {"body": b"this is not json{"},
    "json-list": {"body": b'[{"type": "user.created"}]'},
    "json-string": {"body": json.dumps(GOOD_BODY.decode()).encode()},
    "unknown-type": {"body": json.dumps(user_body("x", message_type="user.deleted")).encode()},
    "missing-x-outbox-id": {"body": GOOD_BODY, "headers": {}},
    "non-uuid-message-id": {"body": GOOD_BODY, "message_id": "12345"},
    "over-size-limit": {"body": json.dumps(user_body("big", address="x" * 5000)).encode()},
}


@pytest.mark.parametrize("poison", POISON.values(), ids=POISON.keys())
def test_poison_is_dead_lettered_while_good_messages_in_its_batch_are_applied(settings, rabbit, sender, poison):
    settings.USER_SYNC_MAX_BODY_BYTES = 4096
    sender.send(user_body("remote.before"))
    sender.send(**poison)
    sender.send(user_body("remote.after"))

    consumer = run_once()

    assert dead_letters(rabbit, 1) == 1
    assert (consumer.processed, consumer.failed) == (2, 1)
    assert set(User.objects.values_list("username", flat=True)) == {"remote.before", "remote.after"}
    assert rabbit.message_count(rabbit.route.queue) == 0


def test_consumer_keeps_going_after_poison_across_batches(settings, rabbit, sender):
    settings.USER_SYNC_PREFETCH = 2
    for n in range(3):
        sender.send(user_body(f"remote.{n}"))
    sender.send(b"poison")
    for n in range(3, 6):
        sender.send(user_body(f"remote.{n}"))

    consumer = run_once()

    assert User.objects.filter(username__startswith="remote.").count() == 6
    assert (consumer.processed, consumer.failed) == (6, 1)
    assert dead_letters(rabbit, 1) == 1


def test_consumer_applies_messages_delivered_while_it_runs(rabbit, sender):
    consumer = UserSyncConsumer()
    try:
        consumer.step()
        sender.send(user_body("remote.live"))
        deadline = time.monotonic() + 30
        while not User.objects.filter(username="remote.live").exists() and time.monotonic() < deadline:
            consumer.step()
    finally:
        consumer.shutdown()

    assert User.objects.filter(username="remote.live").exists()
    assert rabbit.message_count(rabbit.route.queue) == 0


def test_once_command_applies_what_is_queued_and_exits(rabbit, sender):
    sender.send(user_body("remote.alice"))
    sender.send(user_body("remote.bob"))
    out = io.StringIO()

    call_command("user_sync_consumer", "--once", stdout=out)

    assert User.objects.filter(username__in=["remote.alice", "remote.bob"]).count() == 2
    assert "handled 2" in out.getvalue()
    assert rabbit.message_count(rabbit.route.queue) == 0


def test_once_command_exits_when_the_queue_is_empty(rabbit):
    out = io.StringIO()

    call_command("user_sync_consumer", "--once", stdout=out)

    assert "handled 0" in out.getvalue()


def test_messages_this_deployment_sent_itself_are_skipped_not_logged_as_conflicts(settings, rabbit, sender):
    User.objects.create_user(username="local-alice", password=PASSWORD)
    sender.send(user_body("local-alice") | {"source": settings.DEPLOYMENT_NAME})
    run_once()
    assert ConflictingUserSyncLog.objects.count() == 0
    assert rabbit.message_count(rabbit.route.queue) == 0


def test_a_conflict_reason_names_the_invalid_field(sender):
    sender.send(user_body("bad-mail", email="not-an-email"))
    run_once()
    assert "email:" in ConflictingUserSyncLog.objects.get().reason
