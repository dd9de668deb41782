from pubsub.daemon_command import DaemonCommand


class Command(DaemonCommand):
    daemon_name = "producer_service"
    once_help = "publish what is due, then exit"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batch-size", type=int, default=None, help="rows per claimed batch")

    def worker_options(self, options: dict) -> dict:
        return {"batch_size": options.get("batch_size")}
