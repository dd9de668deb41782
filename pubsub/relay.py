"""The outbox relay: claim due rows, publish them, record the outcome. Short transactions only;
nothing is published while a row lock is held, and no transaction is open across a network call.

Claims, leases and due times are the database's clock (pubsub.dbclock), never this host's. Each
claim has its own token: only the holder of a claim can record its rows' outcome or renew its
lease, so a relay that lost a lease (it was slow, or its lease ran out) changes nothing.
"""

import logging
import random
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Lookup, TextField
from django.db.models.expressions import RawSQL

from pubsub.broker import BrokerUnavailable, Publisher, PublishOutcome
from pubsub.dbclock import DatabaseNow, database_time
from pubsub.models import QueuePublishHistory

logger = logging.getLogger(__name__)
Status = QueuePublishHistory.Status
# how often the relay's loop looks at the broker's confirms while a recording runs
RECORDING_POLL_SECS = 0.002


class _IntegersIn(Lookup):
    """`pk__integers_in=[...]`: the ids written into the SQL as the integers they are. Django's
    `__in` prepares and escapes each value on its own (about 12 µs a value here), and the relay
    names hundreds of rows in each of its statements, thousands a second."""

    lookup_name = "integers_in"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({','.join(str(int(value)) for value in self.rhs)})", params


QueuePublishHistory._meta.pk.register_lookup(_IntegersIn)


def retry_delay_secs(*, attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then scaled by 50–100 %."""
    ceiling = min(settings.OUTBOX_RETRY_MAX_SECS, settings.OUTBOX_RETRY_BASE_SECS * 2 ** max(attempts - 1, 0))
    return ceiling * (0.5 + random.random() / 2)


def next_attempt_after_failure(*, attempts: int):
    """When to try again after `attempts` tries (an expression on the database's clock), or None
    once the bound is reached."""
    if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        return None
    return database_time(plus_secs=retry_delay_secs(attempts=attempts))


@dataclass(slots=True)
class ClaimedMessage:
    """What the relay needs of a leased outbox row."""

    pk: int
    message_id: uuid.UUID
    message_type: str
    queue_name: str
    exchange_name: str
    deadletter_queue_name: str
    deadletter_exchange_name: str
    delivery_mode: int
    expiration_secs: int
    timestamp: datetime
    attempts: int
    body_text: str
    claim_token: str = ""


_CLAIMED_COLUMNS = ClaimedMessage.__slots__[:-1]


def outbox_claim_token() -> str:
    return uuid.uuid4().hex


def outbox_claim_batch(
    *,
    worker_id: str,
    batch_size: int,
    lease_secs: float,
    claim_token: str | None = None,
    held_tokens=(),
) -> list[ClaimedMessage]:
    """Lease up to `batch_size` due rows to this worker under `claim_token` (a new one if not
    given). Moving `next_attempt_at` to the lease's end hides them from other relays until then; a
    relay that dies leaves them to be reclaimed. Rows of `held_tokens` (claims this process still
    has in flight) are never claimed again, whatever their lease says."""
    token = claim_token or outbox_claim_token()
    with transaction.atomic():
        due = QueuePublishHistory.objects.select_for_update(skip_locked=True).filter(next_attempt_at__lte=DatabaseNow())
        if held_tokens:
            due = due.exclude(claim_token__in=list(held_tokens))
        # plain tuples, not model instances: the relay reads a few fields of thousands of rows a
        # second; read with the lock (locking reads each row anyway), not in a query of their own
        rows = [
            ClaimedMessage(*values, token)
            for values in due.annotate(body_text=_raw_body())
            .order_by("next_attempt_at", "id")
            .values_list(*_CLAIMED_COLUMNS)[:batch_size]
        ]
        if rows:
            lease_end = database_time(plus_secs=lease_secs)
            QueuePublishHistory.objects.filter(pk__integers_in=[row.pk for row in rows]).update(
                claimed_by=worker_id,
                claim_token=token,
                claimed_until=lease_end,
                next_attempt_at=lease_end,
            )
    return rows


def outbox_due_exists() -> bool:
    """Whether any row is due: one probe of the due index, the relay's idle poll."""
    return QueuePublishHistory.objects.filter(next_attempt_at__lte=DatabaseNow()).exists()


def _raw_body() -> RawSQL:
    """The stored JSON text as it is: publishing it needs no decode and re-encode."""
    table = connection.ops.quote_name(QueuePublishHistory._meta.db_table)
    column = connection.ops.quote_name("message_body_json")
    return RawSQL(f"{table}.{column}", (), output_field=TextField())


def _held(ids: list[int], claim_token: str):
    return QueuePublishHistory.objects.filter(pk__integers_in=ids, claim_token=claim_token)


def outbox_mark_published(*, ids: list[int], claim_token: str) -> int:
    if not ids:
        return 0
    return _held(ids, claim_token).update(
        status=Status.PUBLISHED,
        published_at=DatabaseNow(),
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        claimed_by="",
        claim_token="",
        claimed_until=None,
        error_msg="",
        expired_reason="",
        updated_at=DatabaseNow(),
    )


def outbox_mark_failed(*, rows: list[ClaimedMessage], errors: dict[int, str], claim_token: str) -> int:
    changed = 0
    with transaction.atomic():
        for row in rows:
            if row.pk not in errors:
                continue
            attempts = row.attempts + 1
            changed += _held([row.pk], claim_token).update(
                status=Status.ERROR,
                attempts=attempts,
                next_attempt_at=next_attempt_after_failure(attempts=attempts),
                error_msg=errors[row.pk],
                claimed_by="",
                claim_token="",
                claimed_until=None,
                updated_at=DatabaseNow(),
            )
    return changed


def outbox_release(*, ids: list[int], claim_token: str) -> int:
    """Give leased rows back, due now (graceful stop, or the broker went away)."""
    if not ids:
        return 0
    return _held(ids, claim_token).update(
        next_attempt_at=DatabaseNow(), claimed_by="", claim_token="", claimed_until=None, updated_at=DatabaseNow()
    )


def outbox_renew_lease(*, ids: list[int], claim_token: str, lease_secs: float) -> int:
    """Extend the lease of rows of a claim still being published; returns how many are still held."""
    if not ids:
        return 0
    lease_end = database_time(plus_secs=lease_secs)
    return _held(ids, claim_token).update(claimed_until=lease_end, next_attempt_at=lease_end)


def outbox_release_leased_by(*, worker_id: str, except_tokens=()) -> int:
    """Give back every row leased to `worker_id` but no claim in `except_tokens` (rows of a claim
    whose answer was lost with the database connection, or left at shutdown). Leased rows are
    due in the future, so this reads a short range of the due index, not the table."""
    leased = QueuePublishHistory.objects.filter(next_attempt_at__gt=DatabaseNow(), claimed_by=worker_id)
    if except_tokens:
        leased = leased.exclude(claim_token__in=list(except_tokens))
    return leased.update(
        next_attempt_at=DatabaseNow(), claimed_by="", claim_token="", claimed_until=None, updated_at=DatabaseNow()
    )


@dataclass
class _Claim:
    token: str
    rows: dict[int, ClaimedMessage]  # the rows not settled yet, by pk
    renewed_at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Recorded:
    published: dict[str, list[int]]  # claim token -> rows the broker confirmed
    failed: dict[str, list[int]]  # claim token -> rows the broker refused
    lost: str
    marked_published: int = 0  # rows still held by their claim, so marked
    marked_failed: int = 0


def _outcomes_record(outcomes: list[PublishOutcome]) -> _Recorded:
    """Write what the broker said about some rows: one UPDATE per claim for the published ones."""
    published: dict[str, list[int]] = {}
    failed: dict[str, list[tuple[ClaimedMessage, str]]] = {}
    lost = ""
    for outcome in outcomes:
        for row in outcome.published:
            published.setdefault(row.claim_token, []).append(row.pk)
        for row, reason in outcome.failed:
            failed.setdefault(row.claim_token, []).append((row, reason))
        lost = lost or outcome.lost
    recorded = _Recorded(published, {token: [row.pk for row, _ in refused] for token, refused in failed.items()}, lost)
    for token, ids in published.items():
        recorded.marked_published += _marked(outbox_mark_published(ids=ids, claim_token=token), ids, token)
    for token, refused in failed.items():
        errors = {row.pk: why for row, why in refused}
        logger.warning("%d message(s) failed to publish: %s", len(refused), errors)
        marked = outbox_mark_failed(rows=[row for row, _ in refused], errors=errors, claim_token=token)
        recorded.marked_failed += _marked(marked, refused, token)
    return recorded


def _marked(changed: int, rows: list, claim_token: str) -> int:
    if changed < len(rows):
        # the lease ran out and another claim took them (or a person retried or expired them)
        logger.warning(
            "%d row(s) answered by the broker were no longer held by claim %s: not recorded by this relay",
            len(rows) - changed,
            claim_token,
        )
    return changed


def _outcomes_record_on_this_thread(outcomes: list[PublishOutcome]) -> _Recorded:
    try:
        return _outcomes_record(outcomes)
    except DatabaseError:
        # this thread's connection may be broken: the next recording opens a new one
        try:
            connection.close()
        except DatabaseError:
            pass
        raise


class OutboxRelay:
    """Keeps a publisher's window full of claimed rows and records what becomes of them.

    The caller's thread claims batches and renews the leases of claims still in flight; the
    publisher's I/O thread publishes; a recorder thread, on a database connection of its own,
    writes the broker's answers. So claiming, publishing and recording overlap and none waits for
    another. (A relay started inside the caller's transaction, an admin button or a test,
    records on the caller's connection: another connection could not see its rows.)

    At most `max_in_flight` rows wait for the broker at once. If the connection is lost, every row
    not confirmed is handed back, due at once, and BrokerUnavailable is raised.
    """

    def __init__(
        self,
        *,
        publisher: Publisher,
        worker_id: str,
        batch_size: int | None = None,
        lease_secs: float | None = None,
        max_in_flight: int | None = None,
        record_in_background: bool = False,
    ):
        self.publisher = publisher
        self.worker_id = worker_id
        self.batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
        self.lease_secs = lease_secs or settings.OUTBOX_LEASE_SECS
        # renewed well before the lease runs out, however long the loop's other work takes
        self.renew_every = self.lease_secs / 3
        self.max_in_flight = max_in_flight or publisher.window + self.batch_size
        self.claims: dict[str, _Claim] = {}
        self.in_flight = 0  # rows claimed and not recorded yet
        self.awaiting_broker = 0  # rows submitted that the publisher has not reported on yet
        self.idle = True
        # rows this relay marked published / failed, in all (the answers it still held the rows for)
        self.published = 0
        self.failed = 0
        self._gathered: list[PublishOutcome] = []  # reports not being recorded yet
        self._recording: Future | None = None
        self._recording_outcomes: list[PublishOutcome] = []
        self._recorder = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-record")
            if record_in_background and not transaction.get_connection().in_atomic_block
            else None
        )

    # -- claiming --------------------------------------------------------------------------
    def has_room(self) -> bool:
        # confirmed rows waiting to be recorded count too, up to a point: recording keeps up
        return (
            self.awaiting_broker + self.batch_size <= self.max_in_flight
            and self.in_flight + self.batch_size <= 2 * self.max_in_flight
        )

    def claim(self, *, limit: int | None = None) -> int:
        """Claim a batch and hand it to the publisher, if there is room. After an empty claim,
        a cheap probe of the due index comes first. Returns the rows claimed."""
        if not self.has_room() or (self.idle and not outbox_due_exists()):
            return 0
        batch_size = min(self.batch_size, limit) if limit else self.batch_size
        rows = outbox_claim_batch(
            worker_id=self.worker_id, batch_size=batch_size, lease_secs=self.lease_secs, held_tokens=self.claims
        )
        self.idle = not rows
        if rows:
            self.claims[rows[0].claim_token] = _Claim(rows[0].claim_token, {row.pk: row for row in rows})
            self.in_flight += len(rows)
            self.awaiting_broker += len(rows)
            self.publisher.submit(rows)
        return len(rows)

    def renew_leases(self) -> None:
        now = time.monotonic()
        for claim in self.claims.values():
            if now - claim.renewed_at >= self.renew_every:
                held = outbox_renew_lease(ids=list(claim.rows), claim_token=claim.token, lease_secs=self.lease_secs)
                claim.renewed_at = now
                if held < len(claim.rows):
                    logger.warning(
                        "claim %s: %d of %d row(s) no longer held", claim.token, len(claim.rows) - held, len(claim.rows)
                    )

    def next_renewal_in(self) -> float:
        if not self.claims:
            return self.renew_every
        oldest = min(claim.renewed_at for claim in self.claims.values())
        return max(0.0, oldest + self.renew_every - time.monotonic())

    # -- recording -------------------------------------------------------------------------
    def settle(self, *, timeout: float) -> tuple[int, int]:
        """Take the publisher's reports and record them, waiting up to `timeout` seconds when
        there is nothing to do yet. Returns what was recorded since the last call: (published,
        failed). Raises BrokerUnavailable once the rows of a lost connection are handed back."""
        first = None
        if self._recording is not None and not self._recording.done():
            if self.awaiting_broker:
                # the broker's confirms make room for the next claim: keep looking at them
                first = self.publisher.next_outcome(min(timeout, RECORDING_POLL_SECS))
            else:
                wait([self._recording], timeout=timeout)
        elif not self._gathered and self.awaiting_broker:
            first = self.publisher.next_outcome(timeout)
        if first is not None:
            self._gather(first)
        while not (self._gathered and self._gathered[-1].lost):
            more = self.publisher.next_outcome(0)
            if more is None:
                break
            self._gather(more)
        results = []
        if self._recording is not None and self._recording.done():
            results.append(self._collect())
        if self._recording is None and self._gathered:
            # keep the recorder busy: the reports that came meanwhile are recorded together
            self._start_recording()
            if self._recording.done():
                results.append(self._collect())
        lost = next((recorded.lost for recorded in results if recorded.lost), "")
        if lost:
            self.release_all()
            raise BrokerUnavailable(f"connection lost while publishing: {lost}")
        return (
            sum(recorded.marked_published for recorded in results),
            sum(recorded.marked_failed for recorded in results),
        )

    def _gather(self, outcome: PublishOutcome) -> None:
        self.awaiting_broker -= len(outcome.published) + len(outcome.failed)
        if outcome.lost:
            self.awaiting_broker = 0
        self._gathered.append(outcome)

    def _start_recording(self) -> None:
        outcomes, self._gathered = self._gathered, []
        self._recording_outcomes = outcomes
        if self._recorder is not None:
            self._recording = self._recorder.submit(_outcomes_record_on_this_thread, outcomes)
            return
        self._recording = Future()
        try:
            self._recording.set_result(_outcomes_record(outcomes))
        except DatabaseError as exc:
            self._recording.set_exception(exc)

    def _collect(self) -> _Recorded:
        """The result of the recording that finished: its rows are settled."""
        recording, self._recording = self._recording, None
        try:
            recorded = recording.result()
        except DatabaseError:
            # recording again is harmless: a row recorded already is no longer held by its claim
            self._gathered[:0] = self._recording_outcomes
            raise
        for token, pks in [*recorded.published.items(), *recorded.failed.items()]:
            claim = self.claims.get(token)
            if claim is None:
                continue
            for pk in pks:
                if claim.rows.pop(pk, None) is not None:
                    self.in_flight -= 1
            if not claim.rows:
                del self.claims[token]
        self.published += recorded.marked_published
        self.failed += recorded.marked_failed
        return recorded

    def flush(self) -> tuple[int, int]:
        """Record every report taken so far, and wait for it. Returns (published, failed)."""
        published = failed = 0
        while self._recording is not None or self._gathered:
            if self._recording is None:
                self._start_recording()
            wait([self._recording])
            recorded = self._collect()
            published += recorded.marked_published
            failed += recorded.marked_failed
        return published, failed

    def release_all(self) -> int:
        """Record what the broker confirmed, then hand back every row not settled, due at once,
        not counted as an attempt."""
        self.flush()
        released = 0
        while self.claims:
            token, claim = next(iter(self.claims.items()))
            outbox_release(ids=list(claim.rows), claim_token=token)
            released += len(claim.rows)
            self.in_flight -= len(claim.rows)
            del self.claims[token]
        self.awaiting_broker = 0
        return released

    def forget_all(self) -> None:
        """Drop every claim without touching the database (it is out of reach): the rows wait for
        their lease, or for outbox_release_leased_by."""
        if self._recording is not None:
            wait([self._recording])
            self._recording = None
        self._gathered = []
        self.claims.clear()
        self.in_flight = self.awaiting_broker = 0

    def close(self) -> None:
        """End the recorder thread, closing its database connection."""
        if self._recorder is not None:
            # the recorder thread's own connection: looked up on that thread
            try:
                self._recorder.submit(lambda: connection.close()).result()
            except DatabaseError:
                logger.debug("the recorder's database connection was broken already", exc_info=True)
            self._recorder.shutdown()
            self._recorder = None

    # -- a bounded pass --------------------------------------------------------------------
    def drain(self, *, limit: int | None = None) -> tuple[int, int]:
        """Publish what is due now, up to `limit` rows, and wait for every answer. Returns
        (published, failed); raises BrokerUnavailable if the broker cannot be reached or is lost."""
        self.publisher.open()
        self.idle = False  # claim at once, without probing first
        claimed = published = failed = 0
        exhausted = False
        while True:
            got = 0
            if not exhausted:
                got = self.claim(limit=None if limit is None else limit - claimed)
                claimed += got
                exhausted = self.idle or (limit is not None and claimed >= limit)
            if not got and not self.in_flight:
                return published, failed
            done, refused = self.settle(timeout=0 if got else min(0.5, self.next_renewal_in()))
            published += done
            failed += refused
            self.renew_leases()


def relay_batch(*, publisher: Publisher, worker_id: str, batch_size: int | None = None) -> tuple[int, int]:
    """Claim, publish and record one batch, waiting for it. Returns (published, failed)."""
    relay = OutboxRelay(publisher=publisher, worker_id=worker_id, batch_size=batch_size)
    return relay.drain(limit=relay.batch_size)
