import datetime
import decimal
import json
import uuid

import pytest
from django.db import connection, transaction

from pubsub.conf import Route
from pubsub.encoders import OutboxJSONEncoder
from pubsub.models import QueuePublishHistory
from pubsub.outbox import outbox_enqueue_coalesced, queue_msg_to_publish
from users.models import User

ROUTE = Route.for_queue("outbox_test_q", "outbox_test_x")


def encode(value):
    return json.loads(json.dumps(value, cls=OutboxJSONEncoder))


def test_encoder_writes_datetimes_as_iso_8601():
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)

    assert encode({"at": moment}) == {"at": "2024-05-06T07:08:09Z"}


def test_encoder_writes_dates_as_iso_8601():
    assert encode({"on": datetime.date(2001, 2, 3)}) == {"on": "2001-02-03"}


def test_encoder_writes_decimals_as_exact_strings():
    assert encode({"fee": decimal.Decimal("12.30")}) == {"fee": "12.30"}


def test_encoder_writes_uuids_as_strings():
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")

    assert encode({"id": value}) == {"id": "12345678-1234-5678-1234-567812345678"}


def test_encoder_writes_a_file_field_as_its_storage_name():
    user = User(profile_img="profile_images/alice.png")

    assert encode({"img": user.profile_img}) == {"img": "profile_images/alice.png"}


def test_encoder_writes_an_empty_file_field_as_null():
    assert encode({"img": User().profile_img}) == {"img": None}


@pytest.mark.django_db
def test_queue_msg_to_publish_writes_a_due_pending_row_for_the_route():
    row = queue_msg_to_publish(route=ROUTE, body={"a": 1}, message_type="thing.happened")

    row.refresh_from_db()
    assert (row.queue_name, row.exchange_name) == ("outbox_test_q", "outbox_test_x")
    assert (row.deadletter_queue_name, row.deadletter_exchange_name) == ("outbox_test_q_DLQ", "outbox_test_x_DLX")
    assert row.status == QueuePublishHistory.Status.PENDING
    assert row.message_type == "thing.happened"
    assert row.attempts == 0
    assert row.next_attempt_at is not None
    assert row.delivery_mode == 2


@pytest.mark.django_db
def test_queue_msg_to_publish_uses_the_configured_message_ttl(settings):
    settings.OUTBOX_MESSAGE_TTL_SECS = 321

    row = queue_msg_to_publish(route=ROUTE, body={})

    assert row.expiration_secs == 321


@pytest.mark.django_db
def test_queue_msg_to_publish_stores_encoder_types_as_plain_json():
    row = queue_msg_to_publish(route=ROUTE, body={"on": datetime.date(2001, 2, 3), "fee": decimal.Decimal("1.50")})

    row.refresh_from_db()
    assert row.message_body_json == {"on": "2001-02-03", "fee": "1.50"}


@pytest.mark.django_db
def test_stored_body_is_a_json_object_not_a_json_string():
    row = queue_msg_to_publish(route=ROUTE, body={"user": {"username": "alice"}})

    with connection.cursor() as cursor:
        cursor.execute("SELECT message_body_json FROM pubsub_queuepublishhistory WHERE id = %s", [row.pk])
        (raw,) = cursor.fetchone()
    assert json.loads(raw) == {"user": {"username": "alice"}}


@pytest.mark.django_db
def test_coalesced_enqueue_in_one_transaction_keeps_the_first_type_and_the_newest_body():
    with transaction.atomic():
        for version, message_type in enumerate(["thing.created", "thing.updated", "thing.updated"]):
            outbox_enqueue_coalesced(
                key="thing:1",
                route=ROUTE,
                message_type=message_type,
                build_body=lambda kind, version=version: {"type": kind, "version": version},
            )

    [row] = QueuePublishHistory.objects.all()
    assert row.message_type == "thing.created"
    assert row.message_body_json == {"type": "thing.created", "version": 2}


@pytest.mark.django_db
def test_coalesced_enqueue_keeps_different_keys_apart():
    with transaction.atomic():
        for key in ("thing:1", "thing:2"):
            outbox_enqueue_coalesced(key=key, route=ROUTE, message_type="t", build_body=lambda kind: {})

    assert QueuePublishHistory.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_coalesced_enqueue_in_separate_transactions_writes_separate_rows():
    for message_type in ("thing.created", "thing.updated"):
        with transaction.atomic():
            outbox_enqueue_coalesced(key="thing:1", route=ROUTE, message_type=message_type, build_body=lambda kind: {})

    assert list(QueuePublishHistory.objects.order_by("id").values_list("message_type", flat=True)) == [
        "thing.created",
        "thing.updated",
    ]


@pytest.mark.django_db
def test_coalesced_enqueue_after_a_rollback_does_not_overwrite_another_row():
    # SQLite hands out the rolled-back ids again, so the stale slot must not match the new row
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue_coalesced(key="thing:1", route=ROUTE, message_type="t", build_body=lambda kind: {"mine": 1})
        raise RuntimeError
    other = queue_msg_to_publish(route=ROUTE, body={"other": 1})

    outbox_enqueue_coalesced(key="thing:1", route=ROUTE, message_type="t", build_body=lambda kind: {"mine": 2})

    other.refresh_from_db()
    assert other.message_body_json == {"other": 1}
    assert QueuePublishHistory.objects.count() == 2
