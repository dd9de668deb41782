import datetime
import uuid

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from users.models import User, UserSyncInbox
from users.sync_rows import instances_insert, rows_insert

pytestmark = pytest.mark.django_db

# set per row by the database or the clock, or unique per user
PER_ROW = {"id", "username", "email", "user_code", "registered_on", "updated_at"}


def new_user(name: str) -> User:
    return User(
        username=name,
        email=f"{name}@example.com",
        user_code=f"UC-{name}",
        first_name="Ann",
        dob=datetime.date(2001, 2, 3),
        is_deleted=False,
        password="!unusable",
        date_joined=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    )


def stored(username: str) -> dict:
    return {k: v for k, v in User.objects.filter(username=username).values().get().items() if k not in PER_ROW}


def test_inserted_users_are_stored_as_bulk_create_stores_them():
    User.objects.bulk_create([new_user("by-orm")])

    instances_insert(objs=[new_user("by-rows-1"), new_user("by-rows-2")])

    assert stored("by-rows-1") == stored("by-rows-2") == stored("by-orm")


def test_inserted_users_get_their_primary_keys():
    users = [new_user("first"), new_user("second")]

    instances_insert(objs=users)

    assert [user.pk for user in users] == list(
        User.objects.filter(username__in=["first", "second"]).order_by("username").values_list("pk", flat=True)
    )


def test_columns_left_out_of_a_row_take_their_defaults():
    user = User.objects.create(username="audited")
    values = {
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "object_pk": str(user.pk),
        "object_id": user.pk,
        "object_repr": "written twice",
        "action": LogEntry.Action.CREATE,
        "changes": {"first_name": ["None", "Ann"]},
        "timestamp": timezone.now(),
    }
    LogEntry.objects.bulk_create([LogEntry(**values)])

    rows_insert(model=LogEntry, rows=[values])

    by_orm, by_rows = LogEntry.objects.filter(object_repr="written twice").order_by("pk").values()
    assert {k: v for k, v in by_rows.items() if k != "id"} == {k: v for k, v in by_orm.items() if k != "id"}


def test_auto_now_columns_get_the_statements_time():
    before = timezone.now()

    rows_insert(model=UserSyncInbox, rows=[{"message_id": uuid.uuid4(), "source": "s", "outcome": "applied"}])

    assert UserSyncInbox.objects.get().received_at >= before
