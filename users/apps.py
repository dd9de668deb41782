from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self):
        from users import checks, signals  # noqa: F401  (registers the deploy check, connects the outbox signal)
