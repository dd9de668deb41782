"""Creating, changing and soft-deleting users."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils import timezone

from common.services import model_update
from users.models import ACADEMIC_FIELDS, NAME_FIELDS, PERSONAL_FIELDS, User
from users.services.tokens import user_save_with_revocation_audit


def user_create(*, data: dict, created_by: User | None = None) -> User:
    data = dict(data)
    password = data.pop("password", None)
    user = User(**data, registered_by=created_by, updated_by=created_by)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password", "user_code"])
    user.save()
    return user


# what user_update changes (the API's writable fields; a password has services of its own)
USER_UPDATE_FIELDS = (
    "username",
    *NAME_FIELDS,
    "email",
    "user_type",
    "is_active",
    "is_staff",
    "is_superuser",
    *PERSONAL_FIELDS,
    "class_teacher",
    *ACADEMIC_FIELDS,
)


def user_update(*, user: User, data: dict, updated_by: User | None = None, current_password: str | None = None) -> User:
    """Change a user's fields, saving only those whose value changes: an update that changes
    nothing saves nothing and sends other deployments no message. Changing one's own e-mail takes
    one's current password: whoever holds the e-mail gets the password resets, so a stolen access
    token alone must not move it. The old address is told of any change of it."""
    old_email = user.email
    email_changes = "email" in data and data["email"] != old_email
    if email_changes and updated_by is not None and updated_by.pk == user.pk:
        if not current_password:
            raise ValidationError({"current_password": ["Your current password is needed to change your e-mail."]})
        if not user.check_password(current_password):
            raise ValidationError({"current_password": ["The current password is not correct."]})
    user, _ = model_update(
        instance=user,
        fields=USER_UPDATE_FIELDS,
        data=data,
        on_change={"updated_by": updated_by},
        clean_exclude=["password", "user_code"],
    )
    if old_email and user.email != old_email:
        _email_change_notify(user=user, old_email=old_email)
    return user


def _email_change_notify(*, user: User, old_email: str) -> None:
    """Tell the old address, so that its owner hears of a change they did not make."""
    send_mail(
        subject="Your e-mail address was changed",
        message=(
            f"Hello {user.get_username()},\n\n"
            f"The e-mail address of your account was changed from this one to another on "
            f"{timezone.now():%Y-%m-%d %H:%M} UTC. Password resets now go to the new address.\n\n"
            f"If it was not you, tell an administrator at once."
        ),
        from_email=None,
        recipient_list=[old_email],
    )


def user_soft_delete(*, user: User, deleted_by: User | None) -> User:
    user.is_deleted = True
    user.is_active = False
    user.deleted_at = timezone.now()
    user.deleted_by = deleted_by
    user.updated_by = deleted_by
    user_save_with_revocation_audit(
        user=user,
        actor=deleted_by,
        update_fields=["is_deleted", "is_active", "deleted_at", "deleted_by", "updated_by", "updated_at"],
    )
    return user
