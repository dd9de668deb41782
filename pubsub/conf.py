"""Outbox and queue settings, with the defaults of the original deployment."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Route:
    """Where a message goes: an exchange, the queue bound to it, and their dead-letter pair."""

    queue: str
    exchange: str
    deadletter_queue: str
    deadletter_exchange: str

    @classmethod
    def for_queue(cls, queue: str, exchange: str) -> "Route":
        return cls(queue, exchange, f"{queue}_DLQ", f"{exchange}_DLX")


def broker_urls(url: str | None = None) -> list[str]:
    """The nodes of `url` (default RABBITMQ_URL): one amqp:// URL, or several of one cluster
    separated by commas."""
    return [node.strip() for node in (url or settings.RABBITMQ_URL).split(",") if node.strip()]


def user_sync_routes() -> list[Route]:
    exchange = settings.USER_SYNC_EXCHANGE
    return [Route.for_queue(queue, exchange) for queue in settings.USER_SYNC_QUEUES]
