"""Admin users of a given kind, for tests that check what each role is shown."""

from django.apps import apps
from django.contrib.auth.models import Group

from ops_admin.roles import roles_apply
from users.tests.factories import StaffUserFactory, SuperuserFactory

SUPERUSER = "superuser"


def admin_user_of_kind(kind: str):
    """A superuser for SUPERUSER, otherwise a staff user in the role (group) named `kind`."""
    if kind == SUPERUSER:
        return SuperuserFactory()
    # the migration made the groups; a transactional test before this one may have flushed them
    roles_apply(apps=apps)
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=kind))
    return user
