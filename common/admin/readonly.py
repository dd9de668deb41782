class ReadOnlyAdminMixin:
    """Nobody adds or edits these rows in the admin: they change only through the model admin's
    own actions and buttons, each guarded by its own permission. Deleting is refused too, unless
    the admin sets `deletable` (then the model's delete permission decides: a superuser removing a
    retired daemon's heartbeat rows)."""

    deletable = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
