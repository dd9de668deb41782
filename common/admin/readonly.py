from django.contrib import admin


class ReadOnlyAdminMixin:
    """Nobody adds, edits or deletes these rows in the admin: they change only through the
    model admin's own actions and buttons, each guarded by its own permission."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass
