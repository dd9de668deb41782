from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from users.filters import BoundedSearchFilter, UserFilter
from users.permissions import IsUserManager
from users.selectors import user_list
from users.serializers.auth import DetailSerializer, PasswordChangeSerializer, TokenPairSerializer
from users.serializers.users import MeSerializer, UserSerializer
from users.services.passwords import user_change_password
from users.services.users import user_create, user_soft_delete, user_update
from users.throttling import PasswordCheckThrottle
from users.views.auth import BAD_REQUEST, UNAUTHORIZED

FORBIDDEN = OpenApiResponse(DetailSerializer, description="Authenticated, but not allowed to do this.")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such user.")
COMMON_ERRORS = {401: UNAUTHORIZED, 403: FORBIDDEN}


@extend_schema_view(
    list=extend_schema(responses={200: UserSerializer(many=True), 400: BAD_REQUEST, **COMMON_ERRORS}),
    create=extend_schema(responses={201: UserSerializer, 400: BAD_REQUEST, 409: DetailSerializer, **COMMON_ERRORS}),
    retrieve=extend_schema(responses={200: UserSerializer, 404: NOT_FOUND, **COMMON_ERRORS}),
    partial_update=extend_schema(
        responses={200: UserSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: DetailSerializer, **COMMON_ERRORS}
    ),
    destroy=extend_schema(
        responses={204: None, 400: BAD_REQUEST, 404: NOT_FOUND, **COMMON_ERRORS},
        description="Soft delete: the user is marked deleted and inactive and every token is revoked.",
    ),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = UserSerializer
    permission_classes = [IsUserManager]
    filter_backends = [DjangoFilterBackend, BoundedSearchFilter, OrderingFilter]
    filterset_class = UserFilter
    search_fields = ["username", "first_name", "last_name", "email", "user_code"]
    ordering_fields = ["id", "username", "user_code", "first_name", "last_name", "registered_on", "dob"]
    ordering = ["id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return user_list()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("current_password", None)
        serializer.instance = user_create(data=data, created_by=self.request.user)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        password = data.pop("password", None)
        if password is not None:
            raise ValidationError({"password": ["Use the password change or reset endpoints."]})
        current_password = data.pop("current_password", None)
        serializer.instance = user_update(
            user=serializer.instance, data=data, updated_by=self.request.user, current_password=current_password
        )

    def perform_destroy(self, instance):
        if instance.pk == self.request.user.pk:
            raise ValidationError({"detail": "You cannot delete your own account."})
        user_soft_delete(user=instance, deleted_by=self.request.user)

    @extend_schema(methods=["GET"], responses={200: MeSerializer, 401: UNAUTHORIZED})
    @extend_schema(methods=["PATCH"], responses={200: MeSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    # the throttle counts only requests that carry the caller's password to check
    @action(
        detail=False,
        methods=["get", "patch"],
        permission_classes=[IsAuthenticated],
        throttle_classes=[PasswordCheckThrottle],
        serializer_class=MeSerializer,
    )
    def me(self, request):
        if request.method == "GET":
            return Response(MeSerializer(request.user).data)
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        current_password = data.pop("current_password", None)
        user = user_update(user=request.user, data=data, updated_by=request.user, current_password=current_password)
        return Response(MeSerializer(user).data)

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
        summary="Change one's password; every other token is revoked and a new pair returned",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="me/password",
        permission_classes=[IsAuthenticated],
        throttle_classes=[PasswordCheckThrottle],
        serializer_class=PasswordChangeSerializer,
    )
    def change_password(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = user_change_password(user=request.user, **serializer.validated_data)
        return Response(tokens, status=status.HTTP_200_OK)
