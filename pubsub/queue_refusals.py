"""Queue declarations the broker refused, in this process and for /readyz.

A queue's type and arguments are fixed when it is first declared; declaring it again with others
(a deployment that switched RABBITMQ_QUEUE_TYPE without running `queues_migrate`) is refused with
406 PRECONDITION_FAILED, and retrying cannot help. A daemon then logs one error naming the queue,
the argument and both values, goes on without that queue, and its heartbeat writes the refusal to
the database (queue_refusals_record), where /readyz and the dashboard read it: the daemons run in
processes of their own, so a registry in this module alone would be invisible to the web.
"""

import logging
import re
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from pubsub.models import QueueDeclarationRefusal

logger = logging.getLogger(__name__)

# RabbitMQ's reply text: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in
# vhost '/': received the value 'quorum' of type 'longstr' but current is none"
_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<argument>[^']*)' for queue '(?P<queue>[^']*)' in vhost '[^']*': "
    r"received (?P<received>.*) but current is (?P<current>.*)$"
)
_TYPED_VALUE = re.compile(r"^the value (?P<value>'.*') of type '[^']*'$")


@dataclass(frozen=True)
class QueueRefusal:
    queue: str
    argument: str
    wanted: str  # what this process declared
    current: str  # what the broker has
    reply_text: str

    def describe(self) -> str:
        if self.argument:
            return (
                f"queue {self.queue!r} exists with {self.argument}={self.current}, this process declares "
                f"{self.argument}={self.wanted}"
            )
        return f"queue {self.queue!r} refused: {self.reply_text}"


def _plain(value: str) -> str:
    match = _TYPED_VALUE.match(value.strip())
    return match["value"] if match else value.strip()


def queue_refusal_parse(*, queue: str, reply_text: str) -> QueueRefusal:
    match = _INEQUIVALENT.search(reply_text or "")
    if match is None:
        return QueueRefusal(queue, "", "", "", reply_text or "")
    return QueueRefusal(
        match["queue"], match["argument"], _plain(match["received"]), _plain(match["current"]), reply_text
    )


class RefusedQueues:
    """The refusals this process met, by queue. Thread-safe: the relay's publisher meets them on
    its I/O thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_queue: dict[str, QueueRefusal] = {}

    def add(self, refusal: QueueRefusal) -> bool:
        """Record `refusal`; True if it is news (not the one already recorded for its queue)."""
        with self._lock:
            known = self._by_queue.get(refusal.queue)
            self._by_queue[refusal.queue] = refusal
            return known is None or known.reply_text != refusal.reply_text

    def discard(self, queue: str) -> None:
        with self._lock:
            self._by_queue.pop(queue, None)

    def all(self) -> list[QueueRefusal]:
        with self._lock:
            return sorted(self._by_queue.values(), key=lambda refusal: refusal.queue)

    def clear(self) -> None:
        with self._lock:
            self._by_queue.clear()


refused_queues = RefusedQueues()


def queue_declaration_refused(*, queue: str, reply_text: str) -> QueueRefusal:
    """Record a 406 refusal, logging it once (not on every retry)."""
    refusal = queue_refusal_parse(queue=queue, reply_text=reply_text)
    if refused_queues.add(refusal):
        logger.error(
            "RabbitMQ refused to declare %s; this process goes on without it. Run `manage.py queues_migrate` "
            "to move the queue to RABBITMQ_QUEUE_TYPE, or set RABBITMQ_QUEUE_TYPE to what the broker has. "
            "(broker: %s)",
            refusal.describe(),
            refusal.reply_text,
        )
    return refusal


def queue_declaration_accepted(*, queue: str) -> None:
    refused_queues.discard(queue)


def queue_refusals_record(*, worker_id: str) -> None:
    """Write this process's refusals to the database (its heartbeat calls this), replacing what it
    wrote before."""
    refusals = refused_queues.all()
    QueueDeclarationRefusal.objects.filter(worker_id=worker_id).exclude(
        queue__in=[refusal.queue for refusal in refusals]
    ).delete()
    for refusal in refusals:
        QueueDeclarationRefusal.objects.update_or_create(
            worker_id=worker_id,
            queue=refusal.queue,
            defaults={
                "argument": refusal.argument[:64],
                "wanted": refusal.wanted[:255],
                "current": refusal.current[:255],
                "reply_text": refusal.reply_text[:1000],
            },
        )


def queue_refusals_current(*, heartbeat_secs: float, missed_beats: int = 3) -> list:
    """Refusals written by a process that beat recently (a stopped process's are stale)."""
    since = timezone.now() - timedelta(seconds=heartbeat_secs * missed_beats)
    return list(QueueDeclarationRefusal.objects.filter(seen_at__gte=since).order_by("queue", "worker_id"))
