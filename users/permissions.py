from rest_framework.permissions import BasePermission

from users.models import User

# the model permission a staff member needs for each method on the users API
METHOD_PERMISSIONS = {
    "GET": "users.view_user",
    "HEAD": "users.view_user",
    "OPTIONS": "users.view_user",
    "POST": "users.add_user",
    "PUT": "users.change_user",
    "PATCH": "users.change_user",
    "DELETE": "users.delete_user",
}


class IsUserManager(BasePermission):
    """Who manages users through the API: API administrators (user_type admin) and superusers in
    full; other staff by their model permissions, as in the admin. So the admin roles hold on the
    API too: an Auditor reads users and changes none, staff in no role get nothing."""

    message = "You do not have permission to manage users."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser or user.user_type == User.UserType.ADMIN:
            return True
        permission = METHOD_PERMISSIONS.get(request.method)
        return bool(user.is_staff and permission and user.has_perm(permission))

    def has_object_permission(self, request, view, obj):
        # only a superuser may change or delete a superuser's account
        if request.method not in ("GET", "HEAD", "OPTIONS") and obj.is_superuser:
            return request.user.is_superuser
        return True
