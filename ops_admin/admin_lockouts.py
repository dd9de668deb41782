"""django-axes' login records, read-only for every role: the lockouts (access attempts) with Ops'
unlock action, the failed logins and the admin logins."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages

from common.admin.filters import YesNoFilter
from common.admin.pagination import EstimatedCountPaginator
from common.admin.readonly import ReadOnlyAdminMixin
from users.login_lockout import login_attempts_with_lockout, login_lockout_ends_at, login_lockouts_release

for model in (AccessAttempt, AccessFailureLog, AccessLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class LockedOutFilter(YesNoFilter):
    """The pair at the failure limit within the cool-off (axes' own filter reads one row and
    ignores the cool-off)."""

    title = "locked out now"
    parameter_name = "locked_out"

    def filter_for(self, queryset, yes: bool):
        return queryset.filter(locks_out=yes)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "username",
        "ip_address",
        "failures_of_pair",
        "is_locked_out",
        "locked_until",
        "attempt_time",
        "failures_since_start",
        "user_agent",
        "path_info",
    ]
    list_filter = [LockedOutFilter, "path_info", ("attempt_time", admin.DateFieldListFilter)]
    search_fields = ["username", "=ip_address"]
    search_help_text = "Username, or an exact IP address."
    ordering = ["-attempt_time"]
    fields = [
        "username",
        "ip_address",
        "failures_since_start",
        "attempt_time",
        "path_info",
        "user_agent",
        "http_accept",
        "get_data",
        "post_data",
    ]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ["unlock_selected"]

    def get_queryset(self, request):
        return login_attempts_with_lockout(attempts=super().get_queryset(request))

    @admin.display(description="pair's failures", ordering="pair_failures")
    def failures_of_pair(self, obj):
        return obj.pair_failures

    @admin.display(description="locked out now", boolean=True, ordering="locks_out")
    def is_locked_out(self, obj):
        return obj.locks_out

    @admin.display(description="lockout ends")
    def locked_until(self, obj):
        if not obj.locks_out:
            return "-"
        return login_lockout_ends_at(last_failure=obj.pair_last_failure) or "when unlocked"

    def has_unlock_logins_permission(self, request):
        return request.user.has_perm("ops_admin.unlock_logins")

    @admin.action(description="Unlock selected (clear their failed logins)", permissions=["unlock_logins"])
    def unlock_selected(self, request, queryset):
        unlocked = login_lockouts_release(attempts=queryset, actor=request.user)
        self.message_user(request, f"{unlocked} username/address pair(s) unlocked.", messages.SUCCESS)


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["attempt_time", "username", "ip_address", "locked_out", "path_info", "user_agent"]
    list_filter = ["locked_out", "path_info", ("attempt_time", admin.DateFieldListFilter)]
    search_fields = ["username", "=ip_address"]
    search_help_text = "Username, or an exact IP address."
    # the primary key follows the time and is indexed; attempt_time is not
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["attempt_time", "logout_time", "username", "ip_address", "path_info", "user_agent"]
    list_filter = [("attempt_time", admin.DateFieldListFilter)]
    search_fields = ["username", "=ip_address"]
    search_help_text = "Username, or an exact IP address."
    ordering = ["-id"]
    fields = ["attempt_time", "logout_time", "username", "ip_address", "path_info", "user_agent", "http_accept"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
