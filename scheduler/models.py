from django.db import models


class SchedulerLease(models.Model):
    """Who leads the schedulers: one row, held by the scheduler process that renewed it last, until
    `expires_at` on the database's clock. Only the holder runs tasks; the others stand by and take
    the row over once it has expired (scheduler/leadership.py)."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=255, blank=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name}: {self.holder or 'nobody'}"
