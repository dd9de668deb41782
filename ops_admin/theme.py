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
    "order_with_respect_to": ["users", "pubsub", "token_blacklist", "auditlog", "background_task", "auth"],
    "icons": {
        "auth": "fas fa-users-cog",
        "auth.Group": "fas fa-users",
        "users.User": "fas fa-user",
        "token_blacklist.OutstandingToken": "fas fa-key",
        "token_blacklist.BlacklistedToken": "fas fa-ban",
        "auditlog.LogEntry": "fas fa-history",
        "background_task.Task": "fas fa-clock",
        "background_task.CompletedTask": "fas fa-check-circle",
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
