import pytest
from auditlog.models import LogEntry
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError

from users.models import User, UserCodeSequence
from users.services.users import user_create, user_soft_delete
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_user_codes_are_allocated_in_order():
    users = UserFactory.create_batch(3)

    assert [u.user_code for u in users] == ["UC0001", "UC0002", "UC0003"]


def test_user_code_grows_past_four_digits():
    UserCodeSequence.objects.filter(prefix="UC").update(last_value=9999)

    assert UserFactory().user_code == "UC10000"


def test_user_code_survives_later_saves():
    user = UserFactory()
    code = user.user_code

    user.first_name = "Changed"
    user.save()

    user.refresh_from_db()
    assert user.user_code == code


def test_user_code_is_not_reused_after_a_soft_delete():
    first = UserFactory()
    user_soft_delete(user=first, deleted_by=None)

    assert UserFactory().user_code == "UC0002"


def test_user_code_is_not_editable_in_forms():
    assert not User._meta.get_field("user_code").editable


def test_password_is_stored_only_as_a_hash():
    user = UserFactory()

    assert user.password != DEFAULT_PASSWORD
    assert identify_hasher(user.password)
    assert user.check_password(DEFAULT_PASSWORD)


def test_model_has_no_other_password_field():
    password_like = [f.name for f in User._meta.get_fields() if "password" in f.name or "passwd" in f.name]

    assert password_like == ["password"]


def test_auditlog_records_the_creation():
    user = UserFactory()

    entries = LogEntry.objects.get_for_object(user)
    assert entries.filter(action=LogEntry.Action.CREATE).count() == 1
    assert user.history.filter(action=LogEntry.Action.CREATE).exists()


def test_auditlog_never_records_the_password():
    user = UserFactory()
    user.set_password("Changed-Secret-99")
    user.save()

    for entry in LogEntry.objects.get_for_object(user):
        assert "password" not in (entry.changes_dict or {})


def test_auditlog_records_an_update():
    user = UserFactory()

    user.first_name = "Changed"
    user.save()

    update = user.history.get(action=LogEntry.Action.UPDATE)
    assert update.changes_dict["first_name"][1] == "Changed"


def test_user_create_without_password_makes_it_unusable():
    user = user_create(data={"username": "nopass"})

    assert not user.has_usable_password()


def test_user_create_rejects_a_weak_password_under_password_key():
    with pytest.raises(ValidationError) as excinfo:
        user_create(data={"username": "weakling", "password": "123"})

    assert "password" in excinfo.value.message_dict
    assert not User.objects.filter(username="weakling").exists()


def test_user_create_does_not_consume_a_code_when_validation_fails():
    with pytest.raises(ValidationError):
        user_create(data={"username": "weakling", "password": "123"})

    assert UserFactory().user_code == "UC0001"


def test_soft_delete_keeps_the_row():
    user = UserFactory()
    deleter = UserFactory()

    user_soft_delete(user=user, deleted_by=deleter)

    stored = User.objects.get(pk=user.pk)
    assert stored.is_deleted
    assert not stored.is_active
    assert stored.deleted_by == deleter
    assert stored.deleted_at is not None


def test_str_is_the_username():
    assert str(UserFactory(username="alice")) == "alice"
