"""The development superuser `make run` creates (DEBUG only; users.checks refuses it in production)."""

from django.conf import settings

from users.models import User

DEV_SUPERUSER_USERNAME = "admin"


def dev_superuser_ensure() -> User | None:
    """Create the development superuser (admin/admin) unless any superuser exists. Debug only."""
    if not settings.DEBUG:
        raise RuntimeError("the development superuser is only created with DEBUG on")
    if User.objects.filter(is_superuser=True).exists():
        return None
    return User.objects.create_superuser(
        username=DEV_SUPERUSER_USERNAME,
        email="admin@localhost",
        password=DEV_SUPERUSER_USERNAME,  # the dev password equals the name, by request
        user_type=User.UserType.ADMIN,
    )
