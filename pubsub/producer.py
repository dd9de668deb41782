"""The producer_service daemon: relays the outbox to RabbitMQ."""

import logging

from django.conf import settings

from pubsub.broker import Publisher
from pubsub.daemon import Daemon
from pubsub.relay import outbox_release, relay_batch

logger = logging.getLogger(__name__)


class ProducerService(Daemon):
    name = "producer_service"

    def __init__(self, *, once: bool = False, batch_size: int | None = None, url: str | None = None):
        super().__init__(once=once)
        self.batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
        self.idle_secs = settings.OUTBOX_IDLE_POLL_MS / 1000
        self.publisher = Publisher(url)

    def step(self) -> int:
        published, failed = relay_batch(publisher=self.publisher, worker_id=self.worker_id, batch_size=self.batch_size)
        self.processed += published
        self.failed += failed
        if published or failed:
            logger.info("published %d, failed %d", published, failed)
        return published + failed

    def idle(self, seconds: float) -> None:
        # keep the broker connection's heartbeats flowing while there is nothing to do
        if self.publisher.is_open:
            self.publisher.wait(seconds)
        else:
            super().idle(seconds)

    def on_connection_lost(self, what: str) -> None:
        if what == "broker":
            self.publisher.close()

    def shutdown(self) -> None:
        # rows are only leased while a batch is in flight, and a batch always finishes before the
        # loop checks the stop flag; releasing here covers the rest if a step was interrupted
        try:
            outbox_release(ids=list(self._leased_ids()), worker_id=self.worker_id)
        except Exception:  # noqa: BLE001 - the leases expire on their own anyway
            logger.warning("could not release leased rows on shutdown", exc_info=True)
        self.publisher.close()

    def _leased_ids(self):
        from pubsub.models import QueuePublishHistory

        return QueuePublishHistory.objects.filter(claimed_by=self.worker_id).values_list("pk", flat=True)
