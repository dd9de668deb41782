from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduled tasks"

    def ready(self):
        from scheduler import signals

        signals.connect()
