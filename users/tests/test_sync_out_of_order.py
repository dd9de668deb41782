"""A user's update that overtakes its create (several relays, a retry after a broker cut, several
consumers) waits as an "unknown user" conflict and is applied as soon as the user arrives."""

import pytest

from users.models import ConflictingUserSyncLog, User, UserSyncInbox
from users.services.conflicts import sync_conflicts_apply_waiting
from users.sync_payload import USER_UPDATED
from users.tests.test_sync_consumer import Sender, run_once, user_body

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]

SOURCE_ID = 4242


@pytest.fixture
def sender(rabbit):
    return Sender(rabbit)


def send_update_then_create(sender, username: str) -> None:
    sender.send(
        user_body(username, source_id=SOURCE_ID, message_type=USER_UPDATED, first_name="Second"),
        headers={"x-outbox-id": 2},
    )
    sender.send(user_body(username, source_id=SOURCE_ID, first_name="First"), headers={"x-outbox-id": 1})


def test_an_update_before_its_create_in_one_batch_ends_applied(sender):
    send_update_then_create(sender, "remote.early")

    run_once()

    assert User.objects.get(username="remote.early").first_name == "Second"
    assert not ConflictingUserSyncLog.objects.filter(resolved=False).exists()
    assert set(UserSyncInbox.objects.values_list("outcome", flat=True)) == {"applied"}


def test_an_update_parked_in_an_earlier_pass_is_applied_when_the_create_arrives(sender):
    sender.send(
        user_body("remote.late", source_id=SOURCE_ID, message_type=USER_UPDATED, first_name="Second"),
        headers={"x-outbox-id": 2},
    )
    run_once()
    parked = ConflictingUserSyncLog.objects.get()
    assert parked.reason.startswith("unknown user") and parked.source_id == SOURCE_ID
    assert not User.objects.filter(username="remote.late").exists()

    sender.send(user_body("remote.late", source_id=SOURCE_ID, first_name="First"), headers={"x-outbox-id": 1})
    run_once()

    assert User.objects.get(username="remote.late").first_name == "Second"
    parked.refresh_from_db()
    assert parked.resolved and parked.resolved_by is None


def test_a_parked_update_stays_parked_while_its_user_is_missing(sender):
    sender.send(user_body("remote.never", source_id=SOURCE_ID, message_type=USER_UPDATED), headers={"x-outbox-id": 2})
    run_once()

    assert sync_conflicts_apply_waiting(keys={("campus-north", SOURCE_ID)}) == 0
    assert ConflictingUserSyncLog.objects.get().resolved is False


def test_two_parked_updates_apply_in_version_order(sender):
    for version, name in ((3, "Third"), (2, "Second")):
        sender.send(
            user_body("remote.order", source_id=SOURCE_ID, message_type=USER_UPDATED, first_name=name),
            headers={"x-outbox-id": version},
        )
    run_once()
    sender.send(user_body("remote.order", source_id=SOURCE_ID, first_name="First"), headers={"x-outbox-id": 1})

    run_once()

    assert User.objects.get(username="remote.order").first_name == "Third"
    assert not ConflictingUserSyncLog.objects.filter(resolved=False).exists()
