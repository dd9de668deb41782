from rest_framework.permissions import SAFE_METHODS, BasePermission

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

PRIVILEGED_ACCOUNT_MESSAGE = (
    "Only a superuser may change or delete a staff, superuser or API administrator (user_type admin) account."
)


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
        # a staff, superuser or API administrator account is changed and deleted by superusers
        # only, as in the admin: anyone else could change its e-mail and reset its password
        if request.method not in SAFE_METHODS and obj.is_privileged and not request.user.is_superuser:
            self.message = PRIVILEGED_ACCOUNT_MESSAGE
            return False
        return True
