"""django-jazzmin configuration: the product's brand and navigation grouped by job."""

JAZZMIN_SETTINGS = {
    "site_title": "Ops Console",
    "site_header": "Ops Console",
    "site_brand": "Ops Console",
    "welcome_sign": "Operations console: sign in to continue",
    "copyright": "Ops Console",
    "search_model": ["users.User"],
    "user_avatar": None,
    "show_sidebar": True,
    "navigation_expanded": True,
    # the side menu, by job: Messages, Security, Audit, Workers, Users (app verbose names are set
    # in pubsub/apps.py and ops_admin/apps.py); models of one job kept in another app are linked in
    "order_with_respect_to": [
        "pubsub",
        "pubsub.queuepublishhistory",
        "token_blacklist",
        "token_blacklist.outstandingtoken",
        "token_blacklist.blacklistedtoken",
        "auditlog",
        "auditlog.logentry",
        "background_task",
        "background_task.task",
        "background_task.completedtask",
        "users",
        "users.user",
    ],
    # axes' login records are Security's: linked in there, not a menu group of their own
    "hide_apps": ["auth", "axes"],
    "hide_models": [
        "pubsub.workerheartbeat",
        "users.conflictingusersynclog",
        "users.syncdrift",
        "users.userresyncjob",
        "users.userapihitlog",
    ],
    "custom_links": {
        "pubsub": [
            {
                "name": "Sync conflicts",
                "url": "admin:users_conflictingusersynclog_changelist",
                "icon": "fas fa-exclamation-triangle",
                "permissions": ["users.view_conflictingusersynclog"],
            },
            {
                "name": "Sync drift",
                "url": "admin:users_syncdrift_changelist",
                "icon": "fas fa-not-equal",
                "permissions": ["users.view_syncdrift"],
            },
            {
                "name": "User resyncs",
                "url": "admin:users_userresyncjob_changelist",
                "icon": "fas fa-sync",
                "permissions": ["users.view_userresyncjob"],
            },
        ],
        "token_blacklist": [
            {
                "name": "Login lockouts",
                "url": "admin:axes_accessattempt_changelist",
                "icon": "fas fa-user-lock",
                "permissions": ["axes.view_accessattempt"],
            },
            {
                "name": "Failed logins",
                "url": "admin:axes_accessfailurelog_changelist",
                "icon": "fas fa-user-times",
                "permissions": ["axes.view_accessfailurelog"],
            },
            {
                "name": "Admin logins",
                "url": "admin:axes_accesslog_changelist",
                "icon": "fas fa-sign-in-alt",
                "permissions": ["axes.view_accesslog"],
            },
            {
                "name": "Groups (roles)",
                "url": "admin:auth_group_changelist",
                "icon": "fas fa-users",
                "permissions": ["auth.view_group"],
            },
        ],
        "auditlog": [
            {
                "name": "API hits",
                "url": "admin:users_userapihitlog_changelist",
                "icon": "fas fa-globe",
                "permissions": ["users.view_userapihitlog"],
            },
        ],
        "background_task": [
            {
                "name": "Daemon heartbeats",
                "url": "admin:pubsub_workerheartbeat_changelist",
                "icon": "fas fa-heartbeat",
                "permissions": ["pubsub.view_workerheartbeat"],
            },
        ],
    },
    "icons": {
        "pubsub": "fas fa-envelope",
        "pubsub.QueuePublishHistory": "fas fa-paper-plane",
        "pubsub.WorkerHeartbeat": "fas fa-heartbeat",
        "token_blacklist": "fas fa-shield-alt",
        "token_blacklist.OutstandingToken": "fas fa-key",
        "token_blacklist.BlacklistedToken": "fas fa-ban",
        "auditlog": "fas fa-history",
        "auditlog.LogEntry": "fas fa-history",
        "background_task": "fas fa-cogs",
        "background_task.Task": "fas fa-clock",
        "background_task.CompletedTask": "fas fa-check-circle",
        "users": "fas fa-user-friends",
        "users.User": "fas fa-user",
        "users.ConflictingUserSyncLog": "fas fa-exclamation-triangle",
        "users.UserAPIHitLog": "fas fa-globe",
        "users.SyncDrift": "fas fa-not-equal",
        "users.UserResyncJob": "fas fa-sync",
        "auth": "fas fa-users-cog",
        "auth.Group": "fas fa-users",
        "axes.AccessAttempt": "fas fa-user-lock",
        "axes.AccessFailureLog": "fas fa-user-times",
        "axes.AccessLog": "fas fa-sign-in-alt",
    },
    "default_icon_parents": "fas fa-folder",
    "default_icon_children": "fas fa-circle",
    "related_modal_active": False,
    "use_google_fonts_cdn": False,
    "show_ui_builder": False,
    "changeform_format": "horizontal_tabs",
}

JAZZMIN_UI_TWEAKS = {
    "navbar": "navbar-dark",
    "sidebar": "sidebar-dark-primary",
    "theme": "default",
}
