"""Token revocation and blacklisting leave audit entries naming who did it."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from users.models import User
from users.services.tokens import tokens_blacklist
from users.services.users import user_soft_delete

pytestmark = pytest.mark.django_db


def entries_for(model, pk, action_name):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id=pk,
        additional_data__admin_action=action_name,
    )


def test_logout_all_records_who_revoked_the_tokens(client_for, student):
    client = client_for(student)

    client.post("/api/auth/logout-all/")

    [entry] = entries_for(User, student.pk, "revoke_tokens")
    assert entry.actor == student
    assert entry.changes["token_generation"] == ["0", "1"]


def test_a_soft_delete_records_the_deleting_user_as_the_revoker(staff_user, student):
    user_soft_delete(user=student, deleted_by=staff_user)

    [entry] = entries_for(User, student.pk, "revoke_tokens")
    assert entry.actor == staff_user


def test_blacklisting_tokens_writes_one_entry_per_token(client_for, student, staff_user):
    client_for(student)
    client_for(student)
    tokens = OutstandingToken.objects.filter(user=student)

    blacklisted = tokens_blacklist(queryset=tokens, actor=staff_user)

    assert blacklisted == 2
    for token in tokens:
        [entry] = entries_for(OutstandingToken, token.pk, "blacklist")
        assert entry.actor == staff_user
