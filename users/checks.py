"""Deployment check: no account still answers to the development credentials.

`make run` creates admin/admin on a DEBUG database; a production database copied from such a
machine, or a dev superuser never replaced, would let anyone in. Database checks run only when
asked for (`manage.py check --deploy --database default`), as the deployment runbook does."""

from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from users.models import User
from users.services.dev import DEV_SUPERUSER_USERNAME

DEFAULT_CREDENTIALS_ID = "users.E001"


@register(Tags.database, deploy=True)
def check_no_default_credentials(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or ():
        try:
            user = User.objects.using(alias).filter(username=DEV_SUPERUSER_USERNAME, is_active=True).first()
        except DatabaseError:
            continue  # not migrated yet: nothing to find
        if user is not None and user.check_password(DEV_SUPERUSER_USERNAME):
            errors.append(
                Error(
                    f"The user {DEV_SUPERUSER_USERNAME!r} still has the development password (database {alias!r}).",
                    hint=(
                        f"Set a strong password (manage.py changepassword {DEV_SUPERUSER_USERNAME}) "
                        "or deactivate the account."
                    ),
                    id=DEFAULT_CREDENTIALS_ID,
                )
            )
    return errors
