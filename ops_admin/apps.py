from django.apps import AppConfig, apps

# Third-party apps shown under the name of the job their admin pages serve (the app label, and
# so every admin URL, stays the same). Renamed here because simplejwt's models only exist while
# its own app path is in INSTALLED_APPS, so a renaming AppConfig subclass is not an option.
JOB_NAMES = {"token_blacklist": "Security", "axes": "Security", "auditlog": "Audit", "background_task": "Workers"}


class OpsAdminConfig(AppConfig):
    name = "ops_admin"
    verbose_name = "Operations"

    def ready(self):
        from ops_admin import checks  # noqa: F401  (registers the deploy checks)

        for label, name in JOB_NAMES.items():
            apps.get_app_config(label).verbose_name = name
