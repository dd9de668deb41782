from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from users.login_lockout import login_attempts_reset, login_lockout_check
from users.models import User
from users.tokens import TOKEN_GENERATION_CLAIM, token_generation_is_current


class LoginUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "user_type"]
        read_only_fields = fields


class LoginSerializer(TokenObtainPairSerializer):
    """`{username, password}` → `{access, refresh, user}`; deleted or inactive users get 401, a
    username locked out from the caller's address (users.login_lockout) 429."""

    default_error_messages = {"no_active_account": _("No active account found with the given credentials")}

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token[TOKEN_GENERATION_CLAIM] = user.token_generation
        return token

    def validate(self, attrs):
        # authenticate() gets this request (axes needs it: its backend refuses without one)
        request = self.context.get("request")
        try:
            data = super().validate(attrs)
        except exceptions.AuthenticationFailed:
            login_lockout_check(request=request)
            raise
        if self.user.is_deleted:
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        login_attempts_reset(request=request, username=self.user.get_username())
        data["user"] = LoginUserSerializer(self.user).data
        return data


class LoginResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = LoginUserSerializer()


class RefreshSerializer(TokenRefreshSerializer):
    """Rotating refresh that also refuses revoked generations and deleted or vanished users."""

    refresh = serializers.CharField(write_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        token = RefreshToken(attrs["refresh"])
        user = User.objects.filter(**{api_settings.USER_ID_FIELD: token.get(api_settings.USER_ID_CLAIM)}).first()
        if user is None or not user.is_active or user.is_deleted:
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        if not token_generation_is_current(token=token, user=user):
            raise AuthenticationFailed(_("Token has been revoked"), "token_revoked")
        return super().validate(attrs)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(write_only=True)


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
