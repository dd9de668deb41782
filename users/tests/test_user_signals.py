import json

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import update_last_login
from django.db import transaction

from pubsub.models import QueuePublishHistory
from users.models import User
from users.signals import sync_messages_suppressed
from users.sync_payload import USER_CREATED, USER_UPDATED

PASSWORD = "Correct-Horse-Battery-42"

pytestmark = pytest.mark.django_db


def outbox_rows():
    return list(QueuePublishHistory.objects.order_by("id"))


def test_creating_a_user_writes_one_pending_user_created_row():
    user = User.objects.create(username="alice")

    [row] = outbox_rows()
    assert row.status == QueuePublishHistory.Status.PENDING
    assert row.message_type == USER_CREATED
    assert row.message_body_json["source_id"] == user.pk


def test_the_outbox_row_goes_to_the_user_sync_route(settings):
    settings.USER_SYNC_EXCHANGE = "sync_x"
    settings.USER_SYNC_QUEUES = ["sync_q"]

    User.objects.create(username="alice")

    [row] = outbox_rows()
    assert (row.exchange_name, row.queue_name) == ("sync_x", "sync_q")
    assert (row.deadletter_exchange_name, row.deadletter_queue_name) == ("sync_x_DLX", "sync_q_DLQ")


def test_a_rolled_back_user_create_leaves_no_outbox_row():
    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.create(username="alice")
        raise RuntimeError("the request failed after the save")

    assert not QueuePublishHistory.objects.exists()
    assert not User.objects.exists()


def test_create_user_with_a_password_is_one_user_created_message():
    User.objects.create_user(username="alice", password=PASSWORD)

    assert [row.message_type for row in outbox_rows()] == [USER_CREATED]


def test_create_then_set_password_in_one_transaction_is_one_user_created_message():
    with transaction.atomic():
        user = User.objects.create(username="alice")
        user.set_password(PASSWORD)
        user.save()

    [row] = outbox_rows()
    assert row.message_type == USER_CREATED
    assert check_password(PASSWORD, row.message_body_json["user"]["password"])


def test_saves_in_one_transaction_coalesce_into_one_row_with_the_newest_body():
    with transaction.atomic():
        user = User.objects.create(username="alice", email="old@example.com")
        user.email = "new@example.com"
        user.save()
        user.first_name = "Alice"
        user.save()

    [row] = outbox_rows()
    assert row.message_type == USER_CREATED
    assert row.message_body_json["type"] == USER_CREATED
    assert row.message_body_json["user"]["email"] == "new@example.com"
    assert row.message_body_json["user"]["first_name"] == "Alice"


@pytest.mark.django_db(transaction=True)
def test_an_update_in_a_later_transaction_is_a_separate_user_updated_message():
    user = User.objects.create(username="alice")

    user.email = "alice@example.com"
    user.save()

    assert [row.message_type for row in outbox_rows()] == [USER_CREATED, USER_UPDATED]
    assert outbox_rows()[1].message_body_json["user"]["email"] == "alice@example.com"


def test_saves_of_two_users_in_one_transaction_are_two_messages():
    with transaction.atomic():
        User.objects.create(username="alice")
        User.objects.create(username="bob")

    assert [row.message_body_json["user"]["username"] for row in outbox_rows()] == ["alice", "bob"]


def test_a_last_login_only_save_writes_nothing():
    user = User.objects.create(username="alice")
    QueuePublishHistory.objects.all().delete()

    update_last_login(None, user)

    assert not QueuePublishHistory.objects.exists()


def test_a_save_of_synced_fields_after_the_row_left_the_transaction_writes_a_new_row():
    user = User.objects.create(username="alice")
    QueuePublishHistory.objects.all().delete()

    user.email = "alice@example.com"
    user.save(update_fields=["email"])

    [row] = outbox_rows()
    assert row.message_body_json["user"]["email"] == "alice@example.com"


def test_a_token_generation_only_save_writes_nothing():
    user = User.objects.create(username="alice")
    QueuePublishHistory.objects.all().delete()

    user.token_generation += 1
    user.save(update_fields=["token_generation"])

    assert not QueuePublishHistory.objects.exists()


def test_body_has_the_password_hash_and_no_plaintext_password():
    User.objects.create_user(username="alice", password=PASSWORD)

    [row] = outbox_rows()
    assert PASSWORD not in json.dumps(row.message_body_json)
    assert check_password(PASSWORD, row.message_body_json["user"]["password"])


def test_body_names_its_type_source_and_source_id(settings):
    settings.DEPLOYMENT_NAME = "campus-north"

    user = User.objects.create(username="alice")

    body = outbox_rows()[0].message_body_json
    assert body["type"] == USER_CREATED
    assert body["source"] == "campus-north"
    assert body["source_id"] == user.pk


def test_body_carries_the_profile_fields_as_json(settings):
    teacher = User.objects.create(username="mr.smith", user_type=User.UserType.TEACHER)
    QueuePublishHistory.objects.all().delete()

    User.objects.create(
        username="alice", dob="2001-02-03", class_teacher=teacher, profile_img="profile_images/alice.png"
    )

    user = outbox_rows()[0].message_body_json["user"]
    assert user["dob"] == "2001-02-03"
    assert user["class_teacher_username"] == "mr.smith"
    assert user["profile_img"] == "profile_images/alice.png"
    assert isinstance(user["date_joined"], str)


def test_body_leaves_out_fields_other_deployments_do_not_need():
    User.objects.create_user(username="alice", password=PASSWORD)

    user = outbox_rows()[0].message_body_json["user"]
    assert not {"id", "last_login", "token_generation", "registered_by", "deleted_by"} & user.keys()


def test_saves_inside_sync_messages_suppressed_write_no_outbox_row():
    user = User.objects.create(username="alice")
    rows_before = len(outbox_rows())

    with sync_messages_suppressed():
        user.first_name = "Alice"
        user.save()
        User.objects.create(username="bob")

    assert len(outbox_rows()) == rows_before


def test_a_save_after_the_suppressed_block_writes_its_outbox_row():
    with sync_messages_suppressed():
        user = User.objects.create(username="alice")

    user.first_name = "Alice"
    user.save()

    [row] = outbox_rows()
    assert row.message_body_json["user"]["first_name"] == "Alice"
