"""The operations admin site: the product's titles, groups for superusers only, and the admin
of third-party models (tokens, audit log, scheduled tasks, login lockouts)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group

from ops_admin import admin_audit, admin_lockouts, admin_tasks, admin_tokens  # noqa: F401  (register the admins)
from ops_admin.theme import JAZZMIN_SETTINGS

admin.site.site_header = JAZZMIN_SETTINGS["site_header"]
admin.site.site_title = JAZZMIN_SETTINGS["site_title"]
admin.site.index_title = "Operations"

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups carry privileges: only superusers see or change them."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
