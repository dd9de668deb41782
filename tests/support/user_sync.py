"""User messages from deployment A, and what deployment B made of them."""

import uuid

from pubsub.models import QueuePublishHistory
from tests.support.daemons import run_command
from users.models import User


def users_created_and_updated(*, deployment, route, count: int) -> tuple[list[User], set[uuid.UUID]]:
    """Create `count` users in A, then update each (its own transaction, so its own message),
    and relay them to the queue: 2 messages per user. Returns the users and the message_ids."""
    users = [User.objects.create_user(username=f"{deployment.name}-u{n:03d}", first_name="v1") for n in range(count)]
    for user in users:
        user.first_name = "v2"
        user.save()
    message_ids = set(QueuePublishHistory.objects.filter(queue_name=route.queue).values_list("message_id", flat=True))
    assert len(message_ids) == 2 * count
    run_command("producer_service", "--once", env=deployment.env())
    return users, message_ids


def inbox_count(b, *, source: str) -> int:
    return b.scalar("SELECT COUNT(*) FROM users_usersyncinbox WHERE source = %s", [source])


def assert_applied_exactly_once(b, *, source: str, users: list[User], message_ids: set[uuid.UUID]) -> None:
    """B has one inbox row per message, all applied, each user once, with the last update."""
    inbox = b.query("SELECT message_id, outcome FROM users_usersyncinbox WHERE source = %s", [source])
    assert sorted(uuid.UUID(row["message_id"]) for row in inbox) == sorted(message_ids)
    assert {row["outcome"] for row in inbox} == {"applied"}
    mirrored = b.query(
        "SELECT u.username, u.first_name FROM users_user u JOIN users_synceduserlink l ON l.user_id = u.id "
        "WHERE l.source = %s",
        [source],
    )
    assert sorted(row["username"] for row in mirrored) == sorted(user.username for user in users)
    assert {row["first_name"] for row in mirrored} == {"v2"}
    usernames = [user.username for user in users]
    placeholders = ", ".join(["%s"] * len(usernames))
    assert b.scalar(f"SELECT COUNT(*) FROM users_user WHERE username IN ({placeholders})", usernames) == len(users)
    assert b.scalar("SELECT COUNT(*) FROM users_conflictingusersynclog WHERE source = %s", [source]) == 0


def outbox_seed_user_creations(*, route, count: int, first: int = 1) -> set[str]:
    """Commit `count` pending user.created messages of this deployment (settings.DEPLOYMENT_NAME)
    for `route`, the bodies users.signals would write, without creating the users in A (20,000
    users made one by one would take minutes). Returns their message_ids."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from pubsub.outbox import _jsonable
    from users.sync_payload import USER_CREATED, user_message_body

    password = make_password("Cluster-sync-0nce!")
    rows = []
    for n in range(first, first + count):
        user = User(pk=n, username=f"{settings.DEPLOYMENT_NAME}-c{n:05d}", email=f"c{n}@a.example", password=password)
        rows.append(
            QueuePublishHistory(
                queue_name=route.queue,
                exchange_name=route.exchange,
                deadletter_queue_name=route.deadletter_queue,
                deadletter_exchange_name=route.deadletter_exchange,
                message_type=USER_CREATED,
                message_body_json=_jsonable(user_message_body(user=user, message_type=USER_CREATED)),
                expiration_secs=settings.OUTBOX_MESSAGE_TTL_SECS,
            )
        )
    QueuePublishHistory.objects.bulk_create(rows, batch_size=1000)
    return {str(row.message_id) for row in rows}
