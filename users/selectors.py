from django.db.models import QuerySet

from users.models import User


def user_list(*, include_deleted: bool = False) -> QuerySet[User]:
    users = User.objects.select_related("class_teacher")
    if not include_deleted:
        users = users.filter(is_deleted=False)
    return users


def user_get_active_by_email(*, email: str) -> list[User]:
    """Users a password-reset e-mail may go to: active, not deleted, with a usable password."""
    candidates = User.objects.filter(email__iexact=email, is_active=True, is_deleted=False)
    return [user for user in candidates if user.has_usable_password()]
