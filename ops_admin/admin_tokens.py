"""SimpleJWT's refresh tokens, read-only, with the blacklist action and the flush button."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.admin.filters import YesNoFilter
from common.admin.pagination import EstimatedCountPaginator
from common.admin.readonly import ReadOnlyAdminMixin
from users.services.tokens import tokens_blacklist, tokens_flush_expired

# tokens one press of "Flush expired tokens" deletes at most: the request must end; the nightly
# housekeeping task deletes the rest
FLUSH_NOW_LIMIT = 100_000

for model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


def flush_expired_tokens_outcome() -> tuple[int, str]:
    """One bounded flush now, as the token list's button and the dashboard's both run it."""
    deleted = tokens_flush_expired(batch_size=settings.HOUSEKEEPING_BATCH_SIZE, limit=FLUSH_NOW_LIMIT)
    return messages.SUCCESS, f"Flushed {deleted} expired refresh token(s)."


class ExpiredFilter(YesNoFilter):
    title = "expired"
    parameter_name = "expired"
    field = "expires_at"

    def filter_for(self, queryset, yes: bool):
        lookup = "lte" if yes else "gt"
        return queryset.filter(**{f"{self.field}__{lookup}": timezone.now()})


class BlacklistedFilter(YesNoFilter):
    title = "blacklisted"
    parameter_name = "blacklisted"

    def filter_for(self, queryset, yes: bool):
        return queryset.filter(blacklistedtoken__isnull=not yes)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_list_template = "admin/token_blacklist/outstandingtoken/change_list.html"
    list_display = ["jti", "user", "created_at", "expires_at", "is_blacklisted"]
    list_filter = [ExpiredFilter, BlacklistedFilter, ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["user", "blacklistedtoken"]
    search_fields = ["user__username", "user__email", "=jti"]
    search_help_text = "Username, e-mail, or an exact jti."
    ordering = ["-id"]
    fields = ["jti", "user", "created_at", "expires_at", "is_blacklisted"]
    readonly_fields = fields
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ["blacklist_selected"]

    @admin.display(description="blacklisted", boolean=True)
    def is_blacklisted(self, obj):
        return hasattr(obj, "blacklistedtoken")

    def has_manage_tokens_permission(self, request):
        return request.user.has_perm("ops_admin.manage_tokens")

    def has_flush_tokens_permission(self, request):
        return request.user.has_perm("ops_admin.flush_tokens")

    @admin.action(description="Blacklist selected tokens", permissions=["manage_tokens"])
    def blacklist_selected(self, request, queryset):
        blacklisted = tokens_blacklist(queryset=queryset, actor=request.user)
        self.message_user(request, f"{blacklisted} token(s) blacklisted.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "flush-expired/",
                self.admin_site.admin_view(self.flush_expired_view),
                name="token_blacklist_outstandingtoken_flush_expired",
            ),
            *super().get_urls(),
        ]

    def flush_expired_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_flush_tokens_permission(request):
            raise PermissionDenied
        level, text = flush_expired_tokens_outcome()
        self.message_user(request, text, level)
        return HttpResponseRedirect(reverse("admin:token_blacklist_outstandingtoken_changelist"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_flush_tokens": self.has_flush_tokens_permission(request)}
        return super().changelist_view(request, extra_context)


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["token_jti", "token_user", "token_created_at", "token_expires_at", "blacklisted_at"]
    list_filter = [("blacklisted_at", admin.DateFieldListFilter)]
    list_select_related = ["token__user"]
    search_fields = ["token__user__username", "token__user__email", "=token__jti"]
    search_help_text = "Username, e-mail, or an exact jti."
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.display(description="jti", ordering="token__jti")
    def token_jti(self, obj):
        return obj.token.jti

    @admin.display(description="user", ordering="token__user")
    def token_user(self, obj):
        return obj.token.user

    @admin.display(description="created at", ordering="token__created_at")
    def token_created_at(self, obj):
        return obj.token.created_at

    @admin.display(description="expires at", ordering="token__expires_at")
    def token_expires_at(self, obj):
        return obj.token.expires_at
