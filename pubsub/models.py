import uuid

from django.db import models
from django.utils import timezone

from pubsub.dbclock import DatabaseNow
from pubsub.encoders import OutboxJSONEncoder

SEVEN_DAYS_SECS = 7 * 24 * 3600


class QueuePublishHistory(models.Model):
    """The transactional outbox: one row per message to publish, written in the business
    transaction and relayed to RabbitMQ by `producer_service`.

    `next_attempt_at` is the relay's work list: a row is due when it is set and in the past. It
    is NULL once nothing automatic will happen to the row any more (published, exhausted, rejected
    or expired by a person), so the claim query only ever scans due rows.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PUBLISHED = "published", "Published"
        ERROR = "error", "Error"
        EXPIRED = "expired", "Expired"

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message_type = models.CharField(max_length=64, blank=True)
    queue_name = models.CharField(max_length=255)
    exchange_name = models.CharField(max_length=255)
    deadletter_queue_name = models.CharField(max_length=255)
    deadletter_exchange_name = models.CharField(max_length=255)
    message_body_json = models.JSONField(encoder=OutboxJSONEncoder)
    delivery_mode = models.PositiveSmallIntegerField(default=2)  # 2 = persistent
    expiration_secs = models.PositiveIntegerField(default=SEVEN_DAYS_SECS)
    timestamp = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error_msg = models.TextField(blank=True)
    expired_reason = models.CharField(max_length=64, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    # the database's clock decides when a new row is due, not the clock of the host writing it
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_default=DatabaseNow())
    claimed_by = models.CharField(max_length=255, blank=True)
    # which claim holds the row: only the holder of this claim may record its outcome
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "outbox message"
        verbose_name_plural = "outbox messages"
        ordering = ["-id"]
        permissions = [
            ("retry_queuepublishhistory", "Can retry outbox messages"),
            ("expire_queuepublishhistory", "Can expire outbox messages"),
            ("publish_queuepublishhistory", "Can publish due outbox messages now"),
        ]
        indexes = [
            # the relay's claim: WHERE next_attempt_at <= now ORDER BY next_attempt_at, id
            models.Index(fields=["next_attempt_at", "id"], name="outbox_due_idx"),
            # admin status filter with the default newest-first ordering, and counts by status
            models.Index(fields=["status", "id"], name="outbox_status_idx"),
            # admin queue filter
            models.Index(fields=["queue_name", "status"], name="outbox_queue_idx"),
            # admin filter on the expiry reason: its choices are a DISTINCT read off this index
            models.Index(fields=["expired_reason"], name="outbox_expired_reason_idx"),
            # admin date filter / date hierarchy
            models.Index(fields=["timestamp"], name="outbox_timestamp_idx"),
            # the dashboard's errors and expiries of the last day
            models.Index(fields=["status", "updated_at"], name="outbox_status_updated_idx"),
            # retention purge of old published rows
            models.Index(fields=["status", "published_at"], name="outbox_published_idx"),
            # the dead-letter consumer's list of queues (DISTINCT over an index)
            models.Index(fields=["deadletter_queue_name"], name="outbox_dlq_idx"),
        ]

    def __str__(self):
        return f"{self.message_type or 'message'} {self.message_id} ({self.status})"


class WorkerHeartbeat(models.Model):
    """A daemon's liveness and counters, written every few seconds; the admin dashboard reads it."""

    name = models.CharField(max_length=64)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=32, default="starting")
    processed = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "host", "pid"], name="heartbeat_unique_process"),
        ]
        indexes = [models.Index(fields=["name", "-last_seen"], name="heartbeat_latest_idx")]

    def __str__(self):
        return f"{self.name}@{self.host}:{self.pid}"


class QueueDeclarationRefusal(models.Model):
    """A queue declaration the broker refused (406: the queue exists with another type or other
    arguments), as the daemon that met it last reported it; /readyz and the dashboard show it."""

    worker_id = models.CharField(max_length=255)
    queue = models.CharField(max_length=255)
    argument = models.CharField(max_length=64, blank=True)
    wanted = models.CharField(max_length=255, blank=True)
    current = models.CharField(max_length=255, blank=True)
    reply_text = models.CharField(max_length=1000, blank=True)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["worker_id", "queue"], name="queue_refusal_unique_worker_queue"),
        ]
        indexes = [models.Index(fields=["seen_at"], name="queue_refusal_seen_idx")]

    def __str__(self):
        return f"{self.queue}: {self.argument} {self.current} != {self.wanted}"
