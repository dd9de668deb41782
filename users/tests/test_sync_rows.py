import datetime
import uuid

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from users import sync_rows
from users.models import User, UserSyncInbox
from users.sync_rows import instances_insert, instances_update, rows_insert

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


def saved_users(*names: str) -> list[User]:
    """Users as read back from the database, in the order of `names`."""
    instances_insert(objs=[new_user(name) for name in names])
    by_name = User.objects.in_bulk(names, field_name="username")
    return [by_name[name] for name in names]


def changed(user: User, **values) -> User:
    for name, value in values.items():
        setattr(user, name, value)
    return user


CHANGES = {
    "first_name": 'Zoë O\'Brien "the 2nd"',
    "dob": None,
    "deleted_at": datetime.datetime(2025, 6, 7, 8, 9, 10, 123456, tzinfo=datetime.UTC),
    "is_deleted": True,
    "address": "line one\nline two; DROP TABLE users_user; --",
}


def test_updated_instances_are_stored_as_bulk_update_stores_them():
    by_orm, by_rows = saved_users("by-orm", "by-rows")
    teacher = User.objects.create(username="teacher")
    User.objects.bulk_update([changed(by_orm, class_teacher=teacher, **CHANGES)], ["class_teacher", *CHANGES])

    instances_update(objs=[changed(by_rows, class_teacher=teacher, **CHANGES)], fields=["class_teacher", *CHANGES])

    assert stored("by-rows") == stored("by-orm")
    assert stored("by-rows")["first_name"] == CHANGES["first_name"]


def test_each_row_gets_its_own_values():
    users = saved_users("first", "second", "third")

    instances_update(objs=[changed(user, last_name=f"Last {user.username}") for user in users], fields=["last_name"])

    assert dict(User.objects.values_list("username", "last_name")) == {
        "first": "Last first",
        "second": "Last second",
        "third": "Last third",
    }


def test_only_the_given_fields_are_written():
    [user] = saved_users("partial")
    User.objects.filter(pk=user.pk).update(middle_name="Set meanwhile", token_generation=3)

    instances_update(objs=[changed(user, first_name="Bea", middle_name="stale")], fields=["first_name"])

    row = User.objects.get(pk=user.pk)
    assert (row.first_name, row.middle_name, row.token_generation) == ("Bea", "Set meanwhile", 3)


def test_added_amounts_add_to_the_value_stored_not_the_instances():
    moved, kept = saved_users("moved", "kept")
    User.objects.filter(pk__in=[moved.pk, kept.pk]).update(token_generation=5)  # after the instances were read

    instances_update(objs=[moved, kept], fields=["first_name"], added={"token_generation": [1, 0]})

    assert dict(User.objects.values_list("username", "token_generation")) == {"moved": 6, "kept": 5}


def test_more_rows_than_one_statement_takes_all_update():
    users = saved_users(*(f"user{n:03d}" for n in range(300)))

    instances_update(
        objs=[changed(user, first_name=user.username.upper()) for user in users],
        fields=["first_name", "last_name"],
        added={"token_generation": [n % 2 for n in range(300)]},
    )

    assert [(u.first_name, u.token_generation) for u in User.objects.order_by("username")] == [
        (f"USER{n:03d}", n % 2) for n in range(300)
    ]


def test_an_update_that_breaks_a_unique_constraint_raises_integrity_error():
    first, second = saved_users("first", "second")

    with pytest.raises(IntegrityError), transaction.atomic():
        instances_update(objs=[changed(second, username="first")], fields=["username"])

    assert User.objects.filter(username="second").exists()


def test_the_orm_fallback_stores_the_same_and_leaves_the_instances_as_they_were(monkeypatch):
    monkeypatch.setattr(sync_rows, "_joins_a_values_table", lambda connection: False)
    by_fallback, by_orm = saved_users("by-fallback", "by-orm")
    User.objects.filter(pk=by_fallback.pk).update(token_generation=2)
    User.objects.bulk_update([changed(by_orm, **CHANGES)], list(CHANGES))

    instances_update(objs=[changed(by_fallback, **CHANGES)], fields=list(CHANGES), added={"token_generation": [1]})

    assert stored("by-fallback") | {"token_generation": 0} == stored("by-orm")
    assert User.objects.get(pk=by_fallback.pk).token_generation == 3
    assert by_fallback.token_generation == 0
