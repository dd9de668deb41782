from pubsub.daemon_command import DaemonCommand


class Command(DaemonCommand):
    daemon_name = "user_sync_consumer"
    once_help = "consume until the queues are empty, then exit"
