from django.db import models


class Operations(models.Model):
    """No table: an anchor for the operations permissions that belong to no single model
    (worker buttons, token housekeeping, login unlocks), so groups can be granted them like any
    other."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view the operations dashboard"),
            ("run_workers", "Can trigger one-off worker runs (relay pass, dead-letter drain)"),
            ("run_scheduled_tasks", "Can run due scheduled tasks now"),
            ("flush_tokens", "Can flush expired JWT tokens"),
            ("purge_api_hits", "Can purge old API hits"),
            ("manage_tokens", "Can blacklist tokens and revoke a user's tokens"),
            ("unlock_logins", "Can unlock logins locked out after repeated failures"),
        ]

    def __str__(self):
        return "operations"
