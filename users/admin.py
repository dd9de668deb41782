from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from users.models import User, UserAPIHitLog


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "user_code", "email", "first_name", "last_name", "user_type", "is_active", "is_deleted"]
    list_filter = ["user_type", "is_active", "is_staff", "is_deleted", "registered_on"]
    search_fields = ["username", "user_code", "email", "first_name", "last_name"]
    ordering = ["-registered_on"]
    readonly_fields = [
        "user_code", "registered_on", "registered_by", "updated_at", "updated_by",
        "deleted_at", "deleted_by", "last_login", "date_joined",
    ]
    raw_id_fields = ["class_teacher"]
    fieldsets = (
        (None, {"fields": ("username", "password", "user_code", "user_type")}),
        ("Personal", {"fields": ("first_name", "middle_name", "last_name", "email", "gender", "dob",
                                 "phone_no", "nationality", "address", "profile_img")}),
        ("Academic", {"fields": ("class_teacher", "session", "semester", "stream", "course")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Record", {"fields": ("is_deleted", "deleted_at", "deleted_by", "registered_on", "registered_by",
                               "updated_at", "updated_by", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "user_type", "email", "password1", "password2")}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # only superusers manage privileges
            readonly += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return readonly

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registered_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(UserAPIHitLog)
class UserAPIHitLogAdmin(admin.ModelAdmin):
    """Read-only: hits are evidence (auditors read them, nobody edits them)."""

    list_display = ["timestamp", "method", "api_name", "status_code", "duration_ms", "user", "external_ip", "request_id"]
    list_filter = ["status_code", "method", "timestamp"]
    search_fields = ["api_name", "request_id", "user__username", "external_ip"]
    list_select_related = ["user"]
    # the table is large: no COUNT(*) over all of it on every page
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
