from django.apps import AppConfig


class OpsAdminConfig(AppConfig):
    name = "ops_admin"
    verbose_name = "Operations"
