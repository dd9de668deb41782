from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from users.serializers.auth import (
    DetailSerializer,
    LoginResponseSerializer,
    LogoutSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    TokenPairSerializer,
)
from users.services.passwords import password_reset_confirm, password_reset_request
from users.services.tokens import tokens_revoke_for_user
from users.throttling import ScopedRateThrottle

UNAUTHORIZED = OpenApiResponse(DetailSerializer, description="Missing, invalid, expired or revoked credentials.")
BAD_REQUEST = OpenApiResponse(description="Malformed input; the body names each wrong field.")
THROTTLED = OpenApiResponse(DetailSerializer, description="Too many attempts; retry later.")
LOGIN_REFUSED = OpenApiResponse(
    DetailSerializer,
    description="Too many attempts from this address, or this username is locked out for this address "
    "after repeated failed logins; retry after the Retry-After seconds.",
)


class LoginView(TokenObtainPairView):
    # Two layers. The throttle counts every request of an address, whatever the username, in the
    # cache (per process unless CACHE_URL is shared), and refuses before any password is checked.
    # django-axes (AUTHENTICATION_BACKENDS, users.login_lockout) counts failed passwords per
    # (username, address) in the database, shared by every process, and locks that pair out until
    # the cool-off ends or an operator unlocks it, refusing even the right password meanwhile.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        responses={200: LoginResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 429: LOGIN_REFUSED},
        summary="Log in with username and password",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class RefreshView(TokenRefreshView):
    @extend_schema(
        responses={200: TokenPairSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
        summary="Rotate a refresh token (the old one is blacklisted)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LogoutSerializer,
        responses={200: DetailSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
        summary="Blacklist one refresh token of the caller",
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(serializer.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        if str(refresh.get(api_settings.USER_ID_CLAIM)) != str(request.user.pk):
            return Response({"refresh": ["This token does not belong to you."]}, status=status.HTTP_400_BAD_REQUEST)
        refresh.blacklist()
        return Response({"detail": "Logged out."})


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: DetailSerializer, 401: UNAUTHORIZED},
        summary="Revoke every token of the caller, access tokens included",
    )
    def post(self, request):
        tokens_revoke_for_user(user=request.user, actor=request.user)
        return Response({"detail": "All your tokens have been revoked."})


class PasswordResetRequestView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetRequestSerializer,
        responses={200: DetailSerializer, 400: BAD_REQUEST, 429: THROTTLED},
        summary="E-mail a password reset link",
    )
    def post(self, request):
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": "If an account uses this e-mail, a reset link has been sent to it."})


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={200: DetailSerializer, 400: BAD_REQUEST, 429: THROTTLED},
        summary="Set a new password with the uid and token from the reset e-mail",
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_confirm(**serializer.validated_data)
        return Response({"detail": "Your password has been changed."})
