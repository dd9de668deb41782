from django.db.models import QuerySet

from users.models import User


def user_list(*, include_deleted: bool = False) -> QuerySet[User]:
    users = User.objects.select_related("class_teacher")
    if not include_deleted:
        users = users.filter(is_deleted=False)
    return users


def user_get_active_by_email(*, email: str, include_staff: bool = False) -> list[User]:
    """Users a password-reset e-mail may go to: active, not deleted, with a usable password, and
    neither staff nor superuser unless `include_staff`."""
    candidates = User.objects.filter(email__iexact=email, is_active=True, is_deleted=False)
    if not include_staff:
        candidates = candidates.filter(is_staff=False, is_superuser=False)
    return [user for user in candidates if user.has_usable_password()]
