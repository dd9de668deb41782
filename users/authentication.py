from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from users.tokens import token_generation_is_current


class RevocableJWTAuthentication(JWTAuthentication):
    """SimpleJWT authentication that also rejects tokens revoked through the user's generation."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if user.is_deleted:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if not token_generation_is_current(token=validated_token, user=user):
            raise AuthenticationFailed(_("Token has been revoked"), code="token_revoked")
        return user


class RevocableJWTScheme(SimpleJWTScheme):
    """drf-spectacular matches authenticators by exact class: without this the schema has no
    security scheme and the docs page offers no way to send a Bearer token."""

    target_class = RevocableJWTAuthentication
