"""Deployment checks (`manage.py check --deploy`): the shared engines are not reached with their
factory accounts, and /metrics is not open to anyone. RabbitMQ's guest/guest, MySQL's
password-less root and a token-less /metrics work out of the box on a developer's machine, which
is why they must not be what production runs with."""

from urllib.parse import unquote

import pika
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import connections

from pubsub.conf import broker_urls

BROKER_DEFAULT_ACCOUNT_ID = "ops_admin.W001"
DATABASE_NO_PASSWORD_ID = "ops_admin.W002"
METRICS_OPEN_ID = "ops_admin.W003"


@register(Tags.security, deploy=True)
def check_broker_account(app_configs=None, **kwargs):
    accounts = {
        (unquote(params.credentials.username), unquote(params.credentials.password))
        for params in map(pika.URLParameters, broker_urls())
    }
    if ("guest", "guest") in accounts:
        return [
            Warning(
                "RABBITMQ_URL logs in to RabbitMQ with the default guest/guest account.",
                hint="Create a RabbitMQ user with a strong password for this deployment and put it in RABBITMQ_URL.",
                id=BROKER_DEFAULT_ACCOUNT_ID,
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_database_password(app_configs=None, **kwargs):
    warnings = []
    for alias in connections:
        params = connections[alias].settings_dict
        if params["ENGINE"].endswith(("mysql", "postgresql")) and not params.get("PASSWORD"):
            warnings.append(
                Warning(
                    f"The {alias!r} database connection has no password (user {params.get('USER') or '(none)'!r}).",
                    hint="Give the application its own database user with a strong password in DATABASE_URL.",
                    id=DATABASE_NO_PASSWORD_ID,
                )
            )
    return warnings


@register(Tags.security, deploy=True)
def check_metrics_token(app_configs=None, **kwargs):
    if not settings.DEBUG and not settings.METRICS_TOKEN:
        return [
            Warning(
                "METRICS_TOKEN is empty: /metrics answers whoever reaches the process.",
                hint="Set METRICS_TOKEN to a long random value and give it to the Prometheus scraper "
                "(authorization: Bearer).",
                id=METRICS_OPEN_ID,
            )
        ]
    return []
