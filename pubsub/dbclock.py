"""The database's clock. Claims, leases and due times are stamped and compared with it, never
with a host's: hosts' clocks disagree, and the database is the one clock every relay and every
web process share."""

from datetime import timedelta

from django.db.models.functions import Now


class DatabaseNow(Now):
    """The database server's current time, in UTC on every backend. (MySQL's CURRENT_TIMESTAMP is
    in the session's time zone, the server's own unless set; Django stores naive UTC there.)"""

    def as_mysql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="UTC_TIMESTAMP(6)", **extra_context)


def database_time(*, plus_secs: float = 0.0):
    """An expression for the database's now, `plus_secs` later, for filters and updates."""
    return DatabaseNow() + timedelta(seconds=plus_secs) if plus_secs else DatabaseNow()
