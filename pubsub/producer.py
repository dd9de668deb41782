"""The producer_service daemon: relays the outbox to RabbitMQ.

Pipelined: up to OUTBOX_PUBLISH_CONNECTIONS batches are in flight at once, each on its own
long-lived connection and thread, while the main thread claims the next batch and records the
finished ones in the database. So the broker, waiting on its confirms, and the database never
wait for each other. A connection is only ever used by the thread publishing on it.
"""

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings

from pubsub.broker import BrokerUnavailable, Publisher
from pubsub.daemon import DATABASE_DOWN_ERRORS, Daemon
from pubsub.models import QueuePublishHistory
from pubsub.relay import outbox_claim_batch, outbox_release, relay_record

logger = logging.getLogger(__name__)


class ProducerService(Daemon):
    name = "producer_service"

    def __init__(
        self,
        *,
        once: bool = False,
        batch_size: int | None = None,
        url: str | None = None,
        connections: int | None = None,
    ):
        super().__init__(once=once)
        self.batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
        self.idle_secs = settings.OUTBOX_IDLE_POLL_MS / 1000
        self.publishers = [Publisher(url) for _ in range(connections or settings.OUTBOX_PUBLISH_CONNECTIONS)]
        self._free = list(self.publishers)
        self._executor = ThreadPoolExecutor(max_workers=len(self.publishers), thread_name_prefix="publish")
        self._in_flight: deque[tuple[list, Publisher, Future]] = deque()
        # outcomes the broker gave that the database could not take yet, recorded after reconnecting
        self._unrecorded: list[tuple[list, object]] = []
        self._database_was_down = False

    def step(self) -> int:
        self._recover_after_database_outage()
        rows = outbox_claim_batch(
            worker_id=self.worker_id, batch_size=self.batch_size, lease_secs=settings.OUTBOX_LEASE_SECS
        )
        done = 0
        # wait for the oldest batch when every connection is busy, or when there is nothing new
        while self._in_flight and (not self._free or not rows):
            batch = self._in_flight.popleft()
            outcome = self._wait(batch)
            if isinstance(outcome, BrokerUnavailable):
                self._give_up(rows, failed_batch=batch, outcome=outcome)
            done += self._record(batch, outcome)
        if rows:
            publisher = self._free.pop()
            self._in_flight.append((rows, publisher, self._executor.submit(publisher.publish_batch, rows)))
        return done + len(rows)

    def _wait(self, batch):
        """The outcome of a batch being published: a BatchResult, or BrokerUnavailable."""
        rows, publisher, future = batch
        try:
            return future.result()
        except BrokerUnavailable as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - anything else from pika: rebuild the connection
            logger.exception("unexpected error while publishing a batch of %d", len(rows))
            publisher.close()
            return BrokerUnavailable(f"unexpected publishing error: {exc!r}")
        finally:
            self._free.append(publisher)

    def _give_up(self, rows: list, *, failed_batch, outcome: BrokerUnavailable) -> None:
        """The broker went away: settle every batch still in flight and hand back the batch just
        claimed (due again now, not when its lease runs out), then let the daemon back off."""
        outbox_release(ids=[row.pk for row in rows], worker_id=self.worker_id)
        rows.clear()
        while self._in_flight:
            batch = self._in_flight.popleft()
            self._record(batch, self._wait(batch), raise_broker_errors=False)
        self._record(failed_batch, outcome)

    def _record(self, batch, outcome, *, raise_broker_errors: bool = True) -> int:
        rows = batch[0]
        try:
            published, failed = relay_record(rows=rows, outcome=outcome, worker_id=self.worker_id)
        except DATABASE_DOWN_ERRORS:
            # the broker's verdict must not be lost with the connection (that would republish a
            # confirmed batch once its lease ran out): keep it for after reconnecting
            self._unrecorded.append((rows, outcome))
            raise
        self.processed += published
        self.failed += failed
        if failed:
            logger.warning("published %d, failed %d", published, failed)
        if raise_broker_errors and isinstance(outcome, BrokerUnavailable):
            raise outcome
        return published + failed

    def _finish_in_flight(self) -> int:
        """Wait for every batch being published and record their outcomes."""
        done = 0
        while self._in_flight:
            batch = self._in_flight.popleft()
            done += self._record(batch, self._wait(batch), raise_broker_errors=False)
        return done

    def idle(self, seconds: float) -> None:
        # keep every broker connection's heartbeats flowing while there is nothing to do
        open_publishers = [p for p in self.publishers if p.is_open] if not self._in_flight else []
        if not open_publishers:
            super().idle(seconds)
            return
        for publisher in open_publishers:
            publisher.wait(seconds / len(open_publishers))

    def on_connection_lost(self, what: str) -> None:
        if what == "broker":
            for publisher in self.publishers:
                publisher.close()
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
            in_flight = {row.pk for rows, _, _ in self._in_flight for row in rows}
            orphaned = [pk for pk in self._leased_ids() if pk not in in_flight]
            if orphaned:
                logger.info("releasing %d row(s) leased before the database outage", len(orphaned))
                outbox_release(ids=orphaned, worker_id=self.worker_id)
            self._database_was_down = False

    def shutdown(self) -> None:
        # finish the batches in flight, then hand back anything still leased to this process
        try:
            self._finish_in_flight()
        except Exception:  # noqa: BLE001 - stopping: the leases expire on their own anyway
            logger.warning("the last batches could not be recorded on shutdown", exc_info=True)
        try:
            outbox_release(ids=list(self._leased_ids()), worker_id=self.worker_id)
        except Exception:  # noqa: BLE001
            logger.warning("could not release leased rows on shutdown", exc_info=True)
        self._executor.shutdown(wait=True)
        for publisher in self.publishers:
            publisher.close()

    def _leased_ids(self):
        return QueuePublishHistory.objects.filter(claimed_by=self.worker_id).values_list("pk", flat=True)
