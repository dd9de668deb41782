import datetime
import json
import uuid

import pytest
from django.contrib.auth.hashers import make_password

from pubsub.encoders import OutboxJSONEncoder
from pubsub.models import QueuePublishHistory
from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserSyncInbox
from users.sync import user_sync_apply
from users.sync_message import PoisonMessage, sync_message_decode
from users.sync_payload import USER_CREATED, USER_UPDATED, user_message_body
from users.sync_rules import APPLIED, CONFLICT, DUPLICATE

PASSWORD = "Correct-Horse-Battery-42"
SOURCE = "campus-north"
# one hash for every message: a redelivery is the same bytes (another salt would be another body)
PASSWORD_HASH = make_password(PASSWORD)

pytestmark = pytest.mark.django_db


def remote_message(*, message_type=USER_CREATED, source_id=7, version=1, message_id=None, **user):
    """A message as another deployment's relay would deliver it."""
    fields = {
        "username": "remote.alice",
        "email": "alice@north.example",
        "first_name": "Alice",
        "password": PASSWORD_HASH,
        "is_active": True,
        "is_deleted": False,
        "date_joined": "2024-01-02T03:04:05Z",
    } | user
    body = {"type": message_type, "source": SOURCE, "source_id": source_id, "user": fields}
    return sync_message_decode(
        body=json.dumps(body).encode(),
        message_id=message_id or uuid.uuid4(),
        headers={"x-outbox-id": version},
        exchange="sync_x",
        queue="sync_q",
    )


def apply(**kwargs):
    return user_sync_apply(message=remote_message(**kwargs))


def test_user_created_creates_the_user():
    assert apply(email="alice@north.example") == APPLIED

    user = User.objects.get(username="remote.alice")
    assert user.email == "alice@north.example"
    assert user.first_name == "Alice"


def test_created_user_can_log_in_with_the_password_from_the_other_deployment():
    apply()

    assert User.objects.get(username="remote.alice").check_password(PASSWORD)


def test_created_user_is_linked_to_its_source_user_and_version():
    apply(source_id=7, version=41)

    link = SyncedUserLink.objects.get()
    assert (link.source, link.source_id, link.last_version) == (SOURCE, 7, 41)
    assert link.user.username == "remote.alice"


def test_created_user_gets_a_local_user_code():
    apply(user_code="UC9999")

    assert User.objects.get(username="remote.alice").user_code != "UC9999"


def test_a_body_built_by_the_sending_side_applies():
    sender_user = User(username="remote.bob", dob=datetime.date(2001, 2, 3), password=make_password(PASSWORD))
    body = user_message_body(user=sender_user, message_type=USER_CREATED) | {"source_id": 12}
    message = sync_message_decode(
        body=json.dumps(body, cls=OutboxJSONEncoder).encode(), message_id=uuid.uuid4(), headers={"x-outbox-id": 3}
    )

    assert user_sync_apply(message=message) == APPLIED
    user = User.objects.get(username="remote.bob")
    assert user.dob == datetime.date(2001, 2, 3)
    assert user.check_password(PASSWORD)


def test_user_with_an_unusable_password_syncs_without_a_usable_one():
    assert apply(password=make_password(None)) == APPLIED

    assert not User.objects.get(username="remote.alice").has_usable_password()


def test_the_same_message_id_twice_is_a_duplicate_no_op():
    message_id = uuid.uuid4()
    apply(message_id=message_id)

    assert apply(message_id=message_id) == DUPLICATE

    assert User.objects.filter(username="remote.alice").count() == 1
    assert User.objects.get(username="remote.alice").email == "alice@north.example"
    assert UserSyncInbox.objects.count() == 1


def test_every_handled_message_is_recorded_in_the_inbox_with_its_outcome():
    message_id = uuid.uuid4()

    apply(message_id=message_id)

    inbox = UserSyncInbox.objects.get()
    assert (inbox.message_id, inbox.source, inbox.outcome) == (message_id, SOURCE, APPLIED)


def test_create_with_a_username_taken_here_is_a_conflict():
    User.objects.create(username="remote.alice")
    message_id = uuid.uuid4()

    assert apply(message_id=message_id) == CONFLICT

    conflict = ConflictingUserSyncLog.objects.get()
    assert "already exists" in conflict.reason
    assert conflict.message_id == message_id
    assert conflict.message_type == USER_CREATED
    assert (conflict.exchange, conflict.queue, conflict.source) == ("sync_x", "sync_q", SOURCE)
    assert json.loads(conflict.raw_body)["user"]["username"] == "remote.alice"
    assert User.objects.filter(username="remote.alice").count() == 1


def test_a_conflict_is_recorded_in_the_inbox_so_a_redelivery_is_a_duplicate():
    User.objects.create(username="remote.alice")
    message_id = uuid.uuid4()
    apply(message_id=message_id)

    assert apply(message_id=message_id) == DUPLICATE
    assert ConflictingUserSyncLog.objects.count() == 1


def test_update_for_an_unknown_source_user_is_a_conflict():
    assert apply(message_type=USER_UPDATED, source_id=404) == CONFLICT

    assert "unknown user" in ConflictingUserSyncLog.objects.get().reason
    assert not User.objects.filter(username="remote.alice").exists()


def test_a_newer_update_changes_the_linked_user():
    apply(version=1)

    assert apply(message_type=USER_UPDATED, version=2, email="new@north.example", username="remote.alice2") == APPLIED

    user = SyncedUserLink.objects.get().user
    assert (user.username, user.email) == ("remote.alice2", "new@north.example")
    assert SyncedUserLink.objects.get().last_version == 2


@pytest.mark.parametrize("version", [3, 2], ids=["same-version", "older-version"])
def test_an_update_not_newer_than_the_last_applied_is_a_conflict(version):
    apply(version=3)

    assert apply(message_type=USER_UPDATED, version=version, email="old@north.example") == CONFLICT

    assert "stale" in ConflictingUserSyncLog.objects.get().reason
    assert User.objects.get(username="remote.alice").email == "alice@north.example"


def test_an_update_to_a_username_another_local_user_has_is_a_conflict():
    apply(version=1)
    User.objects.create(username="taken")

    assert apply(message_type=USER_UPDATED, version=2, username="taken") == CONFLICT

    assert "belongs to another user" in ConflictingUserSyncLog.objects.get().reason


def test_invalid_field_values_are_a_conflict_not_a_crash():
    assert apply(email="not-an-email") == CONFLICT

    assert "invalid" in ConflictingUserSyncLog.objects.get().reason
    assert not User.objects.filter(username="remote.alice").exists()


def test_a_password_that_is_not_a_known_hash_is_a_conflict():
    assert apply(password=PASSWORD) == CONFLICT

    assert "password" in ConflictingUserSyncLog.objects.get().reason


def test_a_flag_that_is_not_a_boolean_is_a_conflict():
    assert apply(is_active="yes") == CONFLICT

    assert "must be true or false" in ConflictingUserSyncLog.objects.get().reason


def test_privilege_flags_are_ignored_by_default():
    apply(is_staff=True, is_superuser=True)

    user = User.objects.get(username="remote.alice")
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_privilege_flags_apply_when_the_receiver_accepts_them(settings):
    settings.USER_SYNC_ACCEPT_PRIVILEGES = True

    apply(is_staff=True, is_superuser=True)

    user = User.objects.get(username="remote.alice")
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_applying_a_message_writes_no_outbox_row():
    apply(version=1)
    apply(message_type=USER_UPDATED, version=2, email="new@north.example")

    assert not QueuePublishHistory.objects.exists()


def test_class_teacher_is_matched_by_username():
    teacher = User.objects.create(username="mr.smith", user_type=User.UserType.TEACHER)

    apply(class_teacher_username="mr.smith")

    assert User.objects.get(username="remote.alice").class_teacher == teacher


@pytest.mark.parametrize(
    ("body", "headers", "message_id"),
    [
        (b"not json{", {"x-outbox-id": 1}, uuid.uuid4()),
        (b"[1, 2]", {"x-outbox-id": 1}, uuid.uuid4()),
        (b'"{\\"type\\": \\"user.created\\"}"', {"x-outbox-id": 1}, uuid.uuid4()),
        (
            b'{"type": "user.deleted", "source": "a", "source_id": 1, "user": {"username": "x"}}',
            {"x-outbox-id": 1},
            uuid.uuid4(),
        ),
        (
            b'{"type": "user.created", "source": "a", "source_id": "1", "user": {"username": "x"}}',
            {"x-outbox-id": 1},
            uuid.uuid4(),
        ),
        (b'{"type": "user.created", "source": "a", "source_id": 1, "user": {}}', {"x-outbox-id": 1}, uuid.uuid4()),
        (b'{"type": "user.created", "source": "a", "source_id": 1, "user": {"username": "x"}}', {}, uuid.uuid4()),
        (
            b'{"type": "user.created", "source": "a", "source_id": 1, "user": {"username": "x"}}',
            {"x-outbox-id": 1},
            "42",
        ),
        (b"\xff\xfe", {"x-outbox-id": 1}, uuid.uuid4()),
    ],
    ids=[
        "not-json",
        "json-list",
        "json-string",
        "unknown-type",
        "string-source-id",
        "no-username",
        "no-outbox-id-header",
        "non-uuid-message-id",
        "not-utf8",
    ],
)
def test_undecodable_messages_are_poison(body, headers, message_id):
    with pytest.raises(PoisonMessage):
        sync_message_decode(body=body, message_id=message_id, headers=headers)


def test_a_body_over_the_size_limit_is_poison(settings):
    settings.USER_SYNC_MAX_BODY_BYTES = 100

    with pytest.raises(PoisonMessage):
        sync_message_decode(body=b"{" + b" " * 100 + b"}", message_id=uuid.uuid4(), headers={"x-outbox-id": 1})
