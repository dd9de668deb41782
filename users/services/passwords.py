"""Changing one's password and resetting a forgotten one by e-mail."""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from users.models import User
from users.selectors import user_get_active_by_email
from users.services.tokens import user_save_with_revocation_audit
from users.tokens import token_pair_for_user


def user_change_password(*, user: User, old_password: str, new_password: str) -> dict[str, str]:
    """Change the password, revoke every existing token and return a fresh pair for the caller."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The current password is not correct."]})
    _password_set_and_revoke(user=user, new_password=new_password, updated_by=user)
    return token_pair_for_user(user)


def _password_set_and_revoke(*, user: User, new_password: str, updated_by: User | None) -> None:
    """Validate and set a new password; saving it revokes every token issued before it."""
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.updated_by = updated_by
    user_save_with_revocation_audit(user=user, actor=updated_by, update_fields=["password", "updated_by", "updated_at"])


def password_reset_request(*, email: str) -> None:
    """E-mail a reset link to each matching account; says nothing about whether one exists.
    Staff and superusers get none unless PASSWORD_RESET_ALLOW_STAFF: whoever controls such an
    account's mailbox (or its e-mail field) would otherwise control the account."""
    for user in user_get_active_by_email(email=email, include_staff=settings.PASSWORD_RESET_ALLOW_STAFF):
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = settings.PASSWORD_RESET_URL.format(uid=uid, token=token)
        send_mail(
            subject="Reset your password",
            message=(
                f"Hello {user.get_username()},\n\n"
                f"Someone asked to reset your password. If it was you, open:\n{link}\n\n"
                f"uid: {uid}\ntoken: {token}\n\nIf it was not you, ignore this e-mail."
            ),
            from_email=None,
            recipient_list=[user.email],
        )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    invalid = ValidationError({"token": ["The reset link is invalid or has expired."]})
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_deleted=False)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise invalid from None
    if not default_token_generator.check_token(user, token):
        raise invalid
    if (user.is_staff or user.is_superuser) and not settings.PASSWORD_RESET_ALLOW_STAFF:
        # a link sent before the account became staff
        raise invalid
    _password_set_and_revoke(user=user, new_password=new_password, updated_by=user)
    return user
