from rest_framework.permissions import BasePermission

from users.models import User


class IsUserManager(BasePermission):
    """Staff, or users of type admin, manage users through the API."""

    message = "Only staff or admin users may manage users."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_staff or user.user_type == User.UserType.ADMIN)
        )

    def has_object_permission(self, request, view, obj):
        # only a superuser may change or delete a superuser's account
        if request.method not in ("GET", "HEAD", "OPTIONS") and obj.is_superuser:
            return request.user.is_superuser
        return True
