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
