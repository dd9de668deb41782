"""The producer_service daemon: relays the outbox to RabbitMQ.

One connection, a window of OUTBOX_PUBLISH_WINDOW unconfirmed messages kept full by its I/O
thread, while this thread claims the next batches, records the confirms of the previous ones and
renews the leases of the claims still in flight (pubsub.relay.OutboxRelay). When idle it probes
the due index every OUTBOX_IDLE_POLL_MS.
"""

import logging
import time

from django.conf import settings

from pubsub.broker import CONFIRM_TIMEOUT_SECS, BrokerUnavailable, Publisher
from pubsub.daemon import DATABASE_DOWN_ERRORS, Daemon
from pubsub.relay import OutboxRelay, outbox_release_leased_by

logger = logging.getLogger(__name__)

# longest the loop waits for the broker before it looks at its stop flag and leases again
MAX_WAIT_SECS = 0.25


class ProducerService(Daemon):
    name = "producer_service"
    outcome_words = ("published", "failed")

    def __init__(
        self,
        *,
        once: bool = False,
        batch_size: int | None = None,
        url: str | None = None,
        window: int | None = None,
    ):
        super().__init__(once=once)
        self.idle_secs = settings.OUTBOX_IDLE_POLL_MS / 1000
        self.publisher = Publisher(url, window=window)
        self.relay = OutboxRelay(
            publisher=self.publisher,
            worker_id=self.worker_id,
            batch_size=batch_size or settings.OUTBOX_BATCH_SIZE,
            record_in_background=True,
        )
        self._database_was_down = False

    def step(self) -> int:
        self._recover_after_database_outage()
        relay = self.relay
        if not relay.in_flight and not self.publisher.is_open:
            self.publisher.open()
        # a publisher that is gone with rows in flight says so in its last report, settled below
        claimed = relay.claim() if self.publisher.is_open else 0
        try:
            published, failed = relay.settle(timeout=0 if claimed else min(MAX_WAIT_SECS, relay.next_renewal_in()))
        finally:
            self.processed, self.failed = relay.published, relay.failed
        relay.renew_leases()
        if failed:
            logger.warning("published %d, failed %d", published, failed)
        if claimed or published or failed:
            return claimed + published + failed
        return 1 if relay.in_flight else 0

    def on_connection_lost(self, what: str) -> None:
        if what != "broker":
            self._database_was_down = True
            return
        self.publisher.close()
        try:
            self.relay.release_all()
        except DATABASE_DOWN_ERRORS:
            # released by worker id once the database is back
            self.relay.forget_all()
            self._database_was_down = True

    def _recover_after_database_outage(self) -> None:
        if not self._database_was_down:
            return
        # a claim whose COMMIT went through while its reply was lost left rows leased to this
        # process that no claim of it holds: make them due again instead of waiting out the lease
        released = outbox_release_leased_by(worker_id=self.worker_id, except_tokens=list(self.relay.claims))
        if released:
            logger.info("released %d row(s) leased before the database outage", released)
        self._database_was_down = False

    def shutdown(self) -> None:
        # wait for the confirms of what is in flight, then hand back anything still leased
        relay = self.relay
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECS
        try:
            while relay.in_flight and time.monotonic() < deadline:
                relay.settle(timeout=min(MAX_WAIT_SECS, relay.next_renewal_in()))
                relay.renew_leases()
        except BrokerUnavailable:
            pass  # what was not confirmed is handed back already
        except Exception:  # noqa: BLE001 - stopping: the leases expire on their own anyway
            logger.warning("the last messages could not be recorded on shutdown", exc_info=True)
        self.publisher.close()
        try:
            relay.release_all()
            outbox_release_leased_by(worker_id=self.worker_id)
        except Exception:  # noqa: BLE001
            logger.warning("could not release leased rows on shutdown", exc_info=True)
        relay.close()
        self.processed, self.failed = relay.published, relay.failed
