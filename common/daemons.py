"""Every long-running process of the product, declared once.

The management commands build their worker from here, settings choose each daemon's log file from
here (`<name>.log`), and the dashboard lists the daemons it shows from here. Adding a daemon is one
entry below plus a command module of the same name (see pubsub/daemon_command.py). Workers are
named by dotted path so that this module imports no app.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class DaemonSpec:
    # the manage.py command, the heartbeat rows' name and the log file's stem
    name: str
    # what it does: the command's help and the dashboard's description
    summary: str
    # dotted path of its pubsub.daemon.Daemon subclass; empty for the scheduler, which is
    # django-background-tasks' own loop
    worker: str = ""
    # the setting holding how often it beats (the dashboard counts it stale after missed beats)
    heartbeat_setting: str = "WORKER_HEARTBEAT_SECS"

    @property
    def log_file(self) -> str:
        return f"{self.name}.log"


DAEMONS: tuple[DaemonSpec, ...] = (
    DaemonSpec(
        name="producer_service",
        summary="Relay the outbox (QueuePublishHistory) to RabbitMQ. Runs until SIGTERM/SIGINT.",
        worker="pubsub.producer.ProducerService",
    ),
    DaemonSpec(
        name="deadletter_consumer",
        summary="Mark dead-lettered messages expired in the outbox, with the broker's reason. Runs until SIGTERM.",
        worker="pubsub.deadletter.DeadletterConsumer",
    ),
    DaemonSpec(
        name="user_sync_consumer",
        summary="Apply user messages from other deployments. Runs until SIGTERM.",
        worker="users.sync_consumer.UserSyncConsumer",
    ),
    DaemonSpec(
        name="dj_tasks_scheduler",
        summary="Run the recurring and queued background tasks (project/registered_tasks.py).",
        heartbeat_setting="SCHEDULER_HEARTBEAT_SECS",
    ),
)

_BY_NAME = {spec.name: spec for spec in DAEMONS}


def daemon_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def daemon_spec(name: str) -> DaemonSpec:
    """The daemon called `name`; KeyError for a name that is not one."""
    return _BY_NAME[name]
