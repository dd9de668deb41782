"""The producer_service daemon: relays the outbox to RabbitMQ.

Pipelined: while one thread publishes batch k on the broker connection, the main thread records
batch k-1 and claims batch k+1 in the database, so neither side waits for the other. The broker
connection is only ever used by the publishing thread while a batch is in flight.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings

from pubsub.broker import BrokerUnavailable, Publisher
from pubsub.daemon import DATABASE_DOWN_ERRORS, Daemon
from pubsub.relay import outbox_claim_batch, outbox_release, relay_record

logger = logging.getLogger(__name__)


class ProducerService(Daemon):
    name = "producer_service"

    def __init__(self, *, once: bool = False, batch_size: int | None = None, url: str | None = None):
        super().__init__(once=once)
        self.batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
        self.idle_secs = settings.OUTBOX_IDLE_POLL_MS / 1000
        self.publisher = Publisher(url)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self._in_flight: tuple[list, Future] | None = None
        # outcomes the broker gave that the database could not take yet, recorded after reconnecting
        self._unrecorded: list[tuple[list, object]] = []
        self._database_was_down = False

    def step(self) -> int:
        self._recover_after_database_outage()
        rows = outbox_claim_batch(
            worker_id=self.worker_id, batch_size=self.batch_size, lease_secs=settings.OUTBOX_LEASE_SECS
        )
        previous, self._in_flight = self._in_flight, None
        outcome = self._wait(previous)
        if isinstance(outcome, BrokerUnavailable):
            # the batch just claimed will not be published on this connection: due again now,
            # not after its lease runs out
            outbox_release(ids=[row.pk for row in rows], worker_id=self.worker_id)
        elif rows:
            # hand the publisher its next batch before recording the last one, so the broker
            # and the database work at the same time
            self._in_flight = (rows, self._executor.submit(self.publisher.publish_batch, rows))
        done = self._record(previous, outcome)
        return done + len(rows)

    def _wait(self, in_flight):
        """The outcome of the batch being published: a BatchResult, or BrokerUnavailable."""
        if in_flight is None:
            return None
        rows, future = in_flight
        try:
            return future.result()
        except BrokerUnavailable as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - anything else from pika: rebuild the connection
            logger.exception("unexpected error while publishing a batch of %d", len(rows))
            self.publisher.close()
            return BrokerUnavailable(f"unexpected publishing error: {exc!r}")

    def _record(self, in_flight, outcome) -> int:
        if in_flight is None:
            return 0
        try:
            published, failed = relay_record(rows=in_flight[0], outcome=outcome, worker_id=self.worker_id)
        except DATABASE_DOWN_ERRORS:
            # the broker's verdict must not be lost with the connection (that would republish a
            # confirmed batch once its lease ran out): keep it for after reconnecting
            self._unrecorded.append((in_flight[0], outcome))
            raise
        self.processed += published
        self.failed += failed
        if failed:
            logger.warning("published %d, failed %d", published, failed)
        if isinstance(outcome, BrokerUnavailable):
            raise outcome
        return published + failed

    def _finish_in_flight(self) -> int:
        """Wait for the batch being published and record its outcome."""
        in_flight, self._in_flight = self._in_flight, None
        return self._record(in_flight, self._wait(in_flight))

    def idle(self, seconds: float) -> None:
        # keep the broker connection's heartbeats flowing while there is nothing to do
        if self._in_flight is None and self.publisher.is_open:
            self.publisher.wait(seconds)
        else:
            super().idle(seconds)

    def on_connection_lost(self, what: str) -> None:
        if what == "broker":
            self.publisher.close()
        else:
            self._database_was_down = True

    def _recover_after_database_outage(self) -> None:
        while self._unrecorded:
            rows, outcome = self._unrecorded[0]
            published, failed = relay_record(rows=rows, outcome=outcome, worker_id=self.worker_id)
            self._unrecorded.pop(0)
            self.processed += published
            self.failed += failed
        if self._database_was_down:
            # a claim whose COMMIT went through while its reply was lost left rows leased to this
            # process that no batch holds: make them due again instead of waiting out the lease
            in_flight = {row.pk for row in self._in_flight[0]} if self._in_flight else set()
            orphaned = [pk for pk in self._leased_ids() if pk not in in_flight]
            if orphaned:
                logger.info("releasing %d row(s) leased before the database outage", len(orphaned))
                outbox_release(ids=orphaned, worker_id=self.worker_id)
            self._database_was_down = False

    def shutdown(self) -> None:
        # finish the batch in flight, then hand back anything still leased to this process
        try:
            self._finish_in_flight()
        except Exception:  # noqa: BLE001 - stopping: the leases expire on their own anyway
            logger.warning("the last batch could not be recorded on shutdown", exc_info=True)
        try:
            outbox_release(ids=list(self._leased_ids()), worker_id=self.worker_id)
        except Exception:  # noqa: BLE001
            logger.warning("could not release leased rows on shutdown", exc_info=True)
        self._executor.shutdown(wait=True)
        self.publisher.close()

    def _leased_ids(self):
        from pubsub.models import QueuePublishHistory

        return QueuePublishHistory.objects.filter(claimed_by=self.worker_id).values_list("pk", flat=True)
