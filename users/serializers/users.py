from rest_framework import serializers

from users.models import ACADEMIC_FIELDS, NAME_FIELDS, PERSONAL_FIELDS, User

PRIVILEGE_FIELDS = ("is_staff", "is_superuser")
ADMIN_TYPE_SUPERUSERS_ONLY = "Only a superuser may make a user an API administrator (user_type admin)."


class UserPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A user id as a whole number. DRF hands a JSON float to int(): 1.5 picked user 1 and 1e400
    (infinity) raised OverflowError, a 500."""

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


def current_password_field():
    return serializers.CharField(
        write_only=True,
        required=False,
        max_length=128,
        style={"input_type": "password"},
        help_text="Your current password: needed to change your own e-mail.",
    )


class UserSerializer(serializers.ModelSerializer):
    """The user as staff see it. Privilege flags are writable by superusers only."""

    password = serializers.CharField(write_only=True, required=False, max_length=128, style={"input_type": "password"})
    current_password = current_password_field()
    class_teacher = UserPrimaryKeyField(queryset=User.objects.filter(is_deleted=False), required=False, allow_null=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "user_code",
            *NAME_FIELDS,
            "email",
            "user_type",
            "is_active",
            "is_staff",
            "is_superuser",
            *PERSONAL_FIELDS,
            "class_teacher",
            *ACADEMIC_FIELDS,
            "profile_img",
            "is_deleted",
            "registered_on",
            "updated_at",
            "last_login",
            "password",
            "current_password",
        ]
        read_only_fields = [
            "id",
            "user_code",
            "profile_img",
            "is_deleted",
            "registered_on",
            "updated_at",
            "last_login",
        ]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if not (request and request.user.is_superuser):
            for name in PRIVILEGE_FIELDS:
                fields[name].read_only = True
        return fields

    def validate_user_type(self, value):
        # an API administrator has every right on the users API: a privilege, like is_staff
        request = self.context.get("request")
        if value == User.UserType.ADMIN and not (request and request.user.is_superuser):
            raise serializers.ValidationError(ADMIN_TYPE_SUPERUSERS_ONLY)
        return value


class MeSerializer(serializers.ModelSerializer):
    """One's own profile: personal fields only, nothing that grants or reveals more rights."""

    current_password = current_password_field()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "user_code",
            *NAME_FIELDS,
            "email",
            "user_type",
            "is_active",
            "is_staff",
            "is_superuser",
            *PERSONAL_FIELDS,
            "class_teacher",
            *ACADEMIC_FIELDS,
            "profile_img",
            "registered_on",
            "updated_at",
            "last_login",
            "current_password",
        ]
        read_only_fields = [
            "id",
            "username",
            "user_code",
            "user_type",
            "is_active",
            "is_staff",
            "is_superuser",
            "class_teacher",
            *ACADEMIC_FIELDS,
            "profile_img",
            "registered_on",
            "updated_at",
            "last_login",
        ]
