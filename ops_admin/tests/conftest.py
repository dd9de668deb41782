import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from ops_admin.roles import AUDITOR, OPS, SUPPORT, roles_apply
from users.tests.factories import StaffUserFactory, SuperuserFactory

ROLES = (AUDITOR, SUPPORT, OPS)


@pytest.fixture
def roles(db):
    # the migration made them; a transactional test before this one may have flushed them
    roles_apply(apps=apps)


@pytest.fixture
def user_of_kind(roles):
    """A user of a kind in the role matrix: None (anonymous), "staff", a role name, "superuser"."""

    def _user_of_kind(kind):
        if kind is None:
            return None
        if kind == "superuser":
            return SuperuserFactory()
        user = StaffUserFactory()
        if kind in ROLES:
            user.groups.add(Group.objects.get(name=kind))
        return user

    return _user_of_kind


@pytest.fixture
def client_as(client, user_of_kind):
    def _client_as(kind):
        user = user_of_kind(kind)
        if user is not None:
            client.force_login(user)
        client.user = user
        return client

    return _client_as
