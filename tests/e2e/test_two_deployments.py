"""Users managed through deployment A's REST API reach deployment B: A's outbox, producer_service
with A's settings, RabbitMQ, user_sync_consumer with B's settings, B's database."""

import re
import uuid

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone
from rest_framework.test import APIClient

from pubsub.models import QueuePublishHistory
from tests.support.daemons import run_command
from users.models import User

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

PASSWORD = "Sync-me-0ver-there!"
LOGIN_URL = "/api/auth/login/"
USERS_URL = "/api/users/"
COMPARED_FIELDS = ("username", "email", "first_name", "last_name", "phone_no", "course", "semester", "dob", "password")

# B is only read from the test; anything B does, its own code does, in its own process
CREATE_LOCAL_USER_IN_B = (
    "import os; from users.models import User; "
    "User.objects.create_user(username=os.environ['LOCAL_USERNAME'], email='local@b.example', first_name='Local')"
)
AUTHENTICATE_IN_B = (
    # with a request, as a login has one (the login lockout's backend refuses authenticate without)
    "import os; from django.contrib.auth import authenticate; from django.test import RequestFactory; "
    "user = authenticate(RequestFactory().post('/'), "
    "username=os.environ['CHECK_USERNAME'], password=os.environ['CHECK_PASSWORD']); "
    "print('authenticated as', user.username if user else None)"
)


@pytest.fixture
def staff_api(deployment_a) -> APIClient:
    """Deployment A's API, logged in as an API administrator through POST /api/auth/login/."""
    username = f"{deployment_a.name}-staff"
    User.objects.create_user(username=username, password=PASSWORD, user_type=User.UserType.ADMIN)
    client = APIClient()
    response = client.post(LOGIN_URL, {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def api_create_user(client: APIClient, **fields) -> dict:
    response = client.post(USERS_URL, {"password": PASSWORD, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def api_update_user(client: APIClient, user_id: int, **fields) -> dict:
    response = client.patch(f"{USERS_URL}{user_id}/", fields, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def relay_and_consume(a, b) -> tuple[int, int]:
    """One producer_service pass on A, one user_sync_consumer pass on B: (published, handled)."""
    relayed = run_command("producer_service", "--once", env=a.env())
    consumed = run_command("user_sync_consumer", "--once", env=b.env())
    published = int(re.search(r"producer_service: published (\d+), failed 0", relayed).group(1))
    handled = int(re.search(r"user_sync_consumer: handled (\d+), rejected 0", consumed).group(1))
    return published, handled


def users_in_b(b, *usernames: str) -> dict[str, dict]:
    rows = b.query(f"SELECT * FROM users_user WHERE username IN ({', '.join(['%s'] * len(usernames))})", usernames)
    assert sorted(row["username"] for row in rows) == sorted(usernames), "each user exactly once in B"
    return {row["username"]: row for row in rows}


def outbox_message_ids(route) -> list[uuid.UUID]:
    return list(QueuePublishHistory.objects.filter(queue_name=route.queue).values_list("message_id", flat=True))


def test_users_created_and_updated_through_a_api_arrive_in_b(deployment_a, deployment_b, staff_api):
    ada = api_create_user(
        staff_api,
        username=f"{deployment_a.name}-ada",
        email="ada@a.example",
        first_name="Ada",
        last_name="Byron",
        phone_no="+44 20 7946 0000",
        course="Mathematics",
    )
    grace = api_create_user(
        staff_api,
        username=f"{deployment_a.name}-grace",
        email="grace@a.example",
        first_name="Grace",
        last_name="Hopper",
        course="Physics",
    )
    api_update_user(
        staff_api, ada["id"], last_name="Lovelace", email="lovelace@a.example", semester="2", dob="1815-12-10"
    )

    relay_and_consume(deployment_a, deployment_b)

    mirrored = users_in_b(deployment_b, ada["username"], grace["username"])
    for username, row in mirrored.items():
        original = User.objects.get(username=username)
        assert {field: row[field] for field in COMPARED_FIELDS} == {
            field: getattr(original, field) for field in COMPARED_FIELDS
        }
        assert check_password(PASSWORD, row["password"])
        link = deployment_b.scalar(
            "SELECT user_id FROM users_synceduserlink WHERE source = %s AND source_id = %s",
            [deployment_a.name, original.pk],
        )
        assert link == row["id"]
    assert mirrored[ada["username"]]["last_name"] == "Lovelace"
    assert str(mirrored[ada["username"]]["dob"]) == "1815-12-10"
    login = run_command(
        "shell",
        "-c",
        AUTHENTICATE_IN_B,
        env=deployment_b.env(CHECK_USERNAME=ada["username"], CHECK_PASSWORD=PASSWORD),
    )
    assert f"authenticated as {ada['username']}" in login


def test_a_create_of_a_username_taken_in_b_is_logged_as_a_conflict_in_b(deployment_a, deployment_b, staff_api, rabbit):
    username = f"{deployment_a.name}-taken"
    run_command("shell", "-c", CREATE_LOCAL_USER_IN_B, env=deployment_b.env(LOCAL_USERNAME=username))
    created = api_create_user(staff_api, username=username, email="remote@a.example", first_name="Remote")
    message_id = QueuePublishHistory.objects.get(
        queue_name=rabbit.route.queue, message_type="user.created", message_body_json__source_id=created["id"]
    ).message_id

    relay_and_consume(deployment_a, deployment_b)

    conflicts = deployment_b.query("SELECT * FROM users_conflictingusersynclog WHERE message_id = %s", [message_id.hex])
    assert len(conflicts) == 1
    assert conflicts[0]["message_type"] == "user.created"
    assert conflicts[0]["source"] == deployment_a.name
    assert f"username '{username}' already exists" in conflicts[0]["reason"]
    assert username in conflicts[0]["raw_body"]
    local = users_in_b(deployment_b, username)[username]
    assert (local["email"], local["first_name"]) == ("local@b.example", "Local")
    outcome = deployment_b.scalar("SELECT outcome FROM users_usersyncinbox WHERE message_id = %s", [message_id.hex])
    assert outcome == "conflict"


def test_republished_messages_change_nothing_in_b(deployment_a, deployment_b, staff_api, rabbit):
    ada = api_create_user(staff_api, username=f"{deployment_a.name}-ada", email="ada@a.example", first_name="Ada")
    grace = api_create_user(staff_api, username=f"{deployment_a.name}-grace", email="grace@a.example")
    api_update_user(staff_api, ada["id"], last_name="Lovelace", course="Mathematics")
    message_ids = outbox_message_ids(rabbit.route)
    published, handled = relay_and_consume(deployment_a, deployment_b)
    assert published == handled == len(message_ids)
    usernames = (ada["username"], grace["username"], f"{deployment_a.name}-staff")
    users_before = users_in_b(deployment_b, *usernames)
    user_count_before = deployment_b.scalar("SELECT COUNT(*) FROM users_user")
    conflicts_before = deployment_b.scalar("SELECT COUNT(*) FROM users_conflictingusersynclog")

    QueuePublishHistory.objects.filter(queue_name=rabbit.route.queue).update(
        status=QueuePublishHistory.Status.PENDING, next_attempt_at=timezone.now(), published_at=None
    )
    republished, rehandled = relay_and_consume(deployment_a, deployment_b)

    assert republished == rehandled == len(message_ids)
    assert deployment_b.scalar("SELECT COUNT(*) FROM users_user") == user_count_before
    assert users_in_b(deployment_b, *usernames) == users_before
    assert deployment_b.scalar("SELECT COUNT(*) FROM users_conflictingusersynclog") == conflicts_before
    inbox = deployment_b.query(
        "SELECT message_id, COUNT(*) AS copies, MIN(outcome) AS outcome FROM users_usersyncinbox "
        "WHERE source = %s GROUP BY message_id",
        [deployment_a.name],
    )
    assert sorted(uuid.UUID(row["message_id"]) for row in inbox) == sorted(message_ids)
    assert {(row["copies"], row["outcome"]) for row in inbox} == {(1, "applied")}
