"""API-hit logging: which requests are logged, what is kept of them, and how they reach the
database without the request waiting for it.

The middleware only captures plain values (`api_hit_capture`, no database, safe on the event
loop). Everything that may be slow (parsing the user agent, resolving a bearer token to its user,
the INSERT) happens in `api_hits_write`, called by the writer thread in batches, or inline in the
request when API_HIT_LOG_WRITER is "inline".

Trade-off of the background writer: the request never waits for the database, and a graceful
stop (SIGTERM/SIGINT to uvicorn, also with --workers: project.asgi's lifespan shutdown; atexit
elsewhere) writes everything queued before the process exits; a crash or SIGKILL loses the hits
still queued (at most API_HIT_LOG_FLUSH_SECS of traffic when the database keeps up), and when
the database falls behind by API_HIT_LOG_QUEUE_SIZE hits, new hits are dropped and counted in the
log rather than slowing the API down.
"""

import atexit
import logging
import queue
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, lru_cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connections
from django.utils import timezone
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from user_agents import parse as parse_user_agent

from common.batching import delete_in_batches
from common.net import client_ip, ip_address_or_none
from users.authentication import RevocableJWTAuthentication
from users.models import User, UserAPIHitLog

logger = logging.getLogger(__name__)

# what we accept as a caller's X-Request-ID: short, and nothing that could forge a log line
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_TOKEN_CHARS = 4096
# how long a stopping process waits for the queued hits to be written
STOP_TIMEOUT_SECS = 30.0


@dataclass(slots=True)
class ApiHit:
    """A request as captured on the request path: plain values only, nothing to resolve yet."""

    method: str
    path: str
    status_code: int
    duration_ms: float
    timestamp: datetime
    request_id: str
    user_id: int | None
    remote_addr: str
    forwarded_for: str
    user_agent: str
    # only to find the caller when the request itself was not authenticated; never stored
    bearer_token: str = field(default="", repr=False)


def request_id_from_header(value: str | None) -> str:
    """The caller's request id when it looks like one, else a new one."""
    if value and REQUEST_ID_RE.fullmatch(value):
        return value
    return uuid.uuid4().hex


@lru_cache(maxsize=8)
def _path_rules(prefixes: tuple[str, ...], excluded: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern | None]:
    pattern = re.compile("|".join(f"(?:{each})" for each in excluded)) if excluded else None
    return prefixes, pattern


def api_hit_is_logged(*, path: str) -> bool:
    prefixes, excluded = _path_rules(tuple(settings.API_HIT_LOG_PREFIXES), tuple(settings.API_HIT_LOG_EXCLUDE))
    return path.startswith(prefixes) and not (excluded and excluded.search(path))


def _bearer_token(authorization: str) -> str:
    parts = authorization.split()
    if len(parts) == 2 and parts[0] in jwt_settings.AUTH_HEADER_TYPES and len(parts[1]) <= MAX_TOKEN_CHARS:
        return parts[1]
    return ""


def api_hit_capture(*, request, status_code: int, started_at: datetime, duration_ms: float, user) -> ApiHit:
    """What is kept of a request. `user` must be resolved already (no lazy object): this runs on
    the event loop under ASGI."""
    meta = request.META
    user_id = user.pk if user is not None and user.is_authenticated else None
    return ApiHit(
        method=request.method[:16],
        path=request.path[:500],
        status_code=status_code,
        duration_ms=duration_ms,
        timestamp=started_at,
        request_id=getattr(request, "request_id", ""),
        user_id=user_id,
        remote_addr=meta.get("REMOTE_ADDR") or "",
        forwarded_for=meta.get("HTTP_X_FORWARDED_FOR") or "",
        user_agent=(meta.get("HTTP_USER_AGENT") or "")[:512],
        bearer_token="" if user_id else _bearer_token(meta.get("HTTP_AUTHORIZATION") or ""),
    )


def api_hit_record(*, hit: ApiHit) -> None:
    if settings.API_HIT_LOG_WRITER == "inline":
        api_hits_write(hits=[hit])
    else:
        api_hit_writer().submit(hit)


async def api_hit_arecord(*, hit: ApiHit) -> None:
    if settings.API_HIT_LOG_WRITER == "inline":
        await sync_to_async(api_hits_write)(hits=[hit])
    else:
        api_hit_writer().submit(hit)


# -- resolving and writing ----------------------------------------------------------------------
@lru_cache(maxsize=1024)
def user_agent_fields(user_agent: str) -> tuple[str, str, str]:
    """(browser, OS, device) as django-user-agents' parser names them; parsing costs about a
    millisecond, and callers are few, so each string is parsed once."""
    parsed = parse_user_agent(user_agent)
    return parsed.browser.family[:64], parsed.os.family[:64], parsed.device.family[:64]


@cache
def server_internal_ip() -> str | None:
    """This server's address, found once: SERVER_INTERNAL_IP, else the interface of the default
    route (a UDP connect sends nothing), else what the host name resolves to."""
    if settings.SERVER_INTERNAL_IP:
        return ip_address_or_none(settings.SERVER_INTERNAL_IP)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            return probe.getsockname()[0]
    except OSError:
        pass
    try:
        return ip_address_or_none(socket.gethostbyname(socket.gethostname()))
    except OSError:
        return None


def _user_id_from_token(token: str) -> int | None:
    authentication = RevocableJWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(token.encode())).pk
    except DatabaseError:
        raise
    except Exception:  # noqa: BLE001 - any token we cannot vouch for leaves the hit anonymous
        return None


def api_hits_write(*, hits: list[ApiHit]) -> int:
    """Resolve and insert `hits` in one statement. Returns how many were written."""
    internal_ip = server_internal_ip()
    trusted_proxies = list(settings.IPWARE_TRUSTED_PROXIES)
    users_by_token: dict[str, int | None] = {}
    rows = []
    for hit in hits:
        user_id = hit.user_id
        if user_id is None and hit.bearer_token:
            if hit.bearer_token not in users_by_token:
                users_by_token[hit.bearer_token] = _user_id_from_token(hit.bearer_token)
            user_id = users_by_token[hit.bearer_token]
        browser_name, os_name, device = user_agent_fields(hit.user_agent)
        rows.append(
            UserAPIHitLog(
                user_id=user_id,
                method=hit.method,
                api_name=hit.path,
                status_code=hit.status_code,
                duration_ms=round(hit.duration_ms, 3),
                timestamp=hit.timestamp,
                request_id=hit.request_id,
                external_ip=client_ip(
                    remote_addr=hit.remote_addr, forwarded_for=hit.forwarded_for, trusted_proxies=trusted_proxies
                ),
                internal_ip=internal_ip,
                user_agent=hit.user_agent,
                browser_name=browser_name,
                os_name=os_name,
                device=device,
            )
        )
    try:
        UserAPIHitLog.objects.bulk_create(rows)
    except IntegrityError:
        # a user deleted (for real) between the request and this write: keep the hit, anonymous
        known = set(User.objects.filter(pk__in={row.user_id for row in rows}).values_list("pk", flat=True))
        for row in rows:
            if row.user_id not in known:
                row.user_id = None
        UserAPIHitLog.objects.bulk_create(rows)
    return len(rows)


def api_hits_purge(*, older_than: datetime, batch_size: int, limit: int | None = None) -> int:
    """Delete the hits logged before `older_than`, in batches (served by the timestamp index), at
    most about `limit` when given."""
    return delete_in_batches(UserAPIHitLog.objects.filter(timestamp__lt=older_than), batch_size=batch_size, limit=limit)


def api_hits_purge_expired(*, limit: int | None = None) -> int | None:
    """Apply the retention policy: delete hits older than API_HIT_RETENTION_DAYS. Returns how
    many were deleted, or None when retention is off (0 keeps hits forever)."""
    days = settings.API_HIT_RETENTION_DAYS
    if not days:
        return None
    return api_hits_purge(
        older_than=timezone.now() - timedelta(days=days), batch_size=settings.HOUSEKEEPING_BATCH_SIZE, limit=limit
    )


# -- the background writer ----------------------------------------------------------------------
_STOP = object()


class ApiHitWriter:
    """A bounded queue of hits and one thread that writes them in batches of up to `batch_size`,
    at the latest `flush_secs` after the first of a batch arrived. `submit` never blocks."""

    def __init__(self, *, write, max_queued: int, batch_size: int, flush_secs: float):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self.batch_size = batch_size
        self.flush_secs = flush_secs
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # wakes the writer before flush_secs: a full batch is queued, or a flush or stop is asked
        self._wake = threading.Event()
        self._markers_lock = threading.Lock()
        self._markers_queued = 0
        self.written = 0
        self.dropped = 0

    def submit(self, hit: ApiHit) -> bool:
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(hit)
            if self._queue.qsize() >= self.batch_size:
                self._wake.set()
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("API-hit queue full (database too slow or down): %d hits dropped so far", self.dropped)
            return False
        return True

    def flush(self, timeout: float = STOP_TIMEOUT_SECS) -> bool:
        """Wait until everything submitted so far is written (or failed). True when it was."""
        if self._thread is None:
            return True
        done = threading.Event()
        if not self._put_marker(done, timeout=timeout):
            return False
        return done.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_SECS) -> None:
        """Write everything queued, then end the thread: at shutdown (the ASGI lifespan's, or atexit)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        if not self._put_marker(_STOP, timeout=timeout):
            logger.error("API-hit writer did not drain in %.0fs; %d hits lost", timeout, self._queue.qsize())
            return
        thread.join(timeout)

    def _put_marker(self, marker, *, timeout: float) -> bool:
        with self._markers_lock:
            self._markers_queued += 1
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            with self._markers_lock:
                self._markers_queued -= 1
            return False
        self._wake.set()
        return True

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="api-hit-writer", daemon=True)
            thread.start()
            self._thread = thread
            # under uvicorn the ASGI lifespan shutdown stops the writer (see project.lifespan)
            atexit.register(self.stop)

    def _run(self) -> None:
        try:
            while True:
                batch, marker = self._next_batch()
                if batch:
                    self._write_batch(batch)
                if isinstance(marker, threading.Event):
                    marker.set()
                elif marker is _STOP:
                    return
        finally:
            connections.close_all()

    def _next_batch(self) -> tuple[list[ApiHit], object]:
        self._wake.clear()
        first = self._queue.get()
        if not isinstance(first, ApiHit):
            return [], self._took_marker(first)
        # let the batch fill without taking hits one by one: one wake-up per batch, not per
        # request, keeps this thread off the interpreter lock while the server is busy
        if not self._markers_queued and self._queue.qsize() + 1 < self.batch_size:
            self._wake.wait(self.flush_secs)
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, ApiHit):
                return batch, self._took_marker(item)
            batch.append(item)
        return batch, None

    def _took_marker(self, marker):
        with self._markers_lock:
            self._markers_queued -= 1
        return marker

    def _write_batch(self, batch: list[ApiHit]) -> None:
        for attempt in range(3):
            close_old_connections()
            try:
                self.written += self._write(hits=batch)
                return
            except DatabaseError as exc:
                logger.warning("API hits not written (attempt %d of 3): %s", attempt + 1, exc)
                connections.close_all()
                time.sleep(0.5 * 2**attempt)
            except Exception:
                # a bug or a misconfiguration must not end the thread: later hits may still be fine
                logger.exception("API hits not written; %d dropped", len(batch))
                return
        logger.error("API hits not written after 3 attempts; %d dropped", len(batch))


_writer: ApiHitWriter | None = None
_writer_lock = threading.Lock()


def api_hit_writer() -> ApiHitWriter:
    """This process's writer, created with the settings on first use."""
    global _writer
    if _writer is None:
        with _writer_lock:
            if _writer is None:
                _writer = ApiHitWriter(
                    write=api_hits_write,
                    max_queued=settings.API_HIT_LOG_QUEUE_SIZE,
                    batch_size=settings.API_HIT_LOG_BATCH_SIZE,
                    flush_secs=settings.API_HIT_LOG_FLUSH_SECS,
                )
    return _writer


def api_hit_writer_stop() -> None:
    """Write what this process still has queued; for its shutdown."""
    if _writer is not None:
        _writer.stop()
