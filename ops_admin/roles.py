"""The admin roles: which permissions each group holds. One table, read by the migration that
creates the groups (ops_admin 0002) and by the tests of the role matrix."""

AUDITOR = "Auditor"
SUPPORT = "Support"
OPS = "Ops"

# (app_label, codename)
VIEW_EVERYTHING = (
    ("users", "view_user"),
    ("users", "view_userapihitlog"),
    ("users", "view_conflictingusersynclog"),
    ("users", "view_userimportjob"),
    ("users", "view_userresyncjob"),
    ("users", "view_syncdrift"),
    ("pubsub", "view_queuepublishhistory"),
    ("pubsub", "view_workerheartbeat"),
    ("token_blacklist", "view_outstandingtoken"),
    ("token_blacklist", "view_blacklistedtoken"),
    ("auditlog", "view_logentry"),
    ("background_task", "view_task"),
    ("background_task", "view_completedtask"),
    ("axes", "view_accessattempt"),
    ("axes", "view_accessfailurelog"),
    ("axes", "view_accesslog"),
    ("ops_admin", "view_dashboard"),
)
SUPPORT_ACTIONS = (
    ("pubsub", "retry_queuepublishhistory"),
    ("pubsub", "expire_queuepublishhistory"),
    ("pubsub", "publish_queuepublishhistory"),
    ("users", "apply_conflictingusersynclog"),
    ("users", "resolve_conflictingusersynclog"),
    ("users", "request_resync_syncdrift"),
)
OPS_ACTIONS = (
    ("ops_admin", "run_workers"),
    ("ops_admin", "run_scheduled_tasks"),
    ("ops_admin", "flush_tokens"),
    ("ops_admin", "purge_api_hits"),
    ("ops_admin", "manage_tokens"),
    ("ops_admin", "unlock_logins"),
    ("users", "resync_users"),
)

ROLE_PERMISSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    AUDITOR: VIEW_EVERYTHING,
    SUPPORT: VIEW_EVERYTHING + SUPPORT_ACTIONS,
    OPS: VIEW_EVERYTHING + SUPPORT_ACTIONS + OPS_ACTIONS,
}

APP_LABELS = tuple(sorted({app_label for perms in ROLE_PERMISSIONS.values() for app_label, _ in perms}))


def roles_apply(*, apps) -> None:
    """Create the groups and give each exactly its permissions (idempotent). `apps` is a
    migration's app registry or django.apps.apps."""
    from django.contrib.auth.management import create_permissions

    # permissions are normally created after all migrations (post_migrate): create them now
    for label in APP_LABELS:
        app_config = apps.get_app_config(label)
        # create_permissions skips apps without a models module; migration stubs have none
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        # a migration older than a permission's model grants what exists at its point in history;
        # the later migration that re-applies the table grants the rest
        permissions = [
            permission
            for app_label, codename in wanted
            if (permission := Permission.objects.filter(content_type__app_label=app_label, codename=codename).first())
        ]
        group.permissions.set(permissions)
