from django.apps import AppConfig


class PubsubConfig(AppConfig):
    name = "pubsub"
    verbose_name = "Messages"
