"""Messages as another deployment's relay delivers them, for tests of both apply paths."""

import json
import uuid

import pytest
from django.contrib.auth.hashers import make_password

from users.sync import user_sync_apply
from users.sync_batch import user_sync_apply_batch
from users.sync_message import sync_message_decode
from users.sync_payload import USER_CREATED

SOURCE = "campus-north"
PASSWORD = "Correct-Horse-Battery-42"
# one hash for every message: a redelivery is the same bytes (another salt would be another body)
PASSWORD_HASH = make_password(PASSWORD)


def remote_message(*, message_type=USER_CREATED, source_id=7, version=1, **user):
    fields = {
        "username": "remote.alice",
        "email": "alice@north.example",
        "password": PASSWORD_HASH,
        "is_active": True,
        "is_deleted": False,
    } | user
    body = {"type": message_type, "source": SOURCE, "source_id": source_id, "user": fields}
    return sync_message_decode(
        body=json.dumps(body).encode(),
        message_id=uuid.uuid4(),
        headers={"x-outbox-id": version},
        exchange="sync_x",
        queue="sync_q",
    )


def apply_one(message) -> str:
    return user_sync_apply(message=message)


def apply_in_a_batch(message) -> str:
    [outcome] = user_sync_apply_batch(messages=[message])
    return outcome


# the consumer's two paths: one message at a time, and the set-based batch
APPLY_PATHS = pytest.mark.parametrize("apply", [apply_one, apply_in_a_batch], ids=["one-message", "batch"])
