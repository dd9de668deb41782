"""The background writer: batches, never blocks the request, and loses nothing on a graceful stop."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from users.api_hits import ApiHit, ApiHitWriter, api_hits_purge, api_hits_write
from users.models import UserAPIHitLog
from users.tests.factories import UserFactory


def make_hit(n: int = 0, **fields) -> ApiHit:
    values = {
        "method": "GET",
        "path": f"/api/things/{n}/",
        "status_code": 200,
        "duration_ms": 1.5,
        "timestamp": timezone.now(),
        "request_id": f"req-{n}",
        "user_id": None,
        "remote_addr": "203.0.113.7",
        "forwarded_for": "",
        "user_agent": "curl/8.5.0",
    }
    return ApiHit(**{**values, **fields})


class RecordingSink:
    def __init__(self):
        self.batches = []

    def __call__(self, *, hits):
        self.batches.append(list(hits))
        return len(hits)

    @property
    def hits(self):
        return [hit for batch in self.batches for hit in batch]


@pytest.fixture
def writers():
    made = []

    def _writer(write, **options):
        made.append(ApiHitWriter(write=write, **{"max_queued": 100, "batch_size": 50, "flush_secs": 0.01, **options}))
        return made[-1]

    yield _writer
    for writer in made:
        writer.stop(timeout=5)


def test_writer_writes_what_was_submitted_in_batches_of_at_most_batch_size(writers):
    sink = RecordingSink()
    writer = writers(sink, batch_size=3, flush_secs=5)

    for n in range(7):
        writer.submit(make_hit(n))
    writer.flush()

    assert [hit.request_id for hit in sink.hits] == [f"req-{n}" for n in range(7)]
    assert max(len(batch) for batch in sink.batches) <= 3


def test_a_full_batch_is_written_without_waiting_for_the_flush_interval(writers):
    sink = RecordingSink()
    writer = writers(sink, batch_size=3, flush_secs=60)

    for n in range(3):
        writer.submit(make_hit(n))
    deadline = time.monotonic() + 30
    while len(sink.hits) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(sink.hits) == 3


def test_stop_writes_every_hit_still_queued(writers):
    sink = RecordingSink()
    writer = writers(sink, flush_secs=60)  # nothing would be written for a minute but for the stop
    for n in range(5):
        writer.submit(make_hit(n))

    writer.stop()

    assert len(sink.hits) == 5


def test_submit_drops_instead_of_blocking_when_the_queue_is_full(writers):
    taken, unblock = threading.Event(), threading.Event()

    def stuck(*, hits):
        taken.set()
        unblock.wait(30)
        return len(hits)

    writer = writers(stuck, max_queued=2, batch_size=1, flush_secs=0)
    writer.submit(make_hit(0))
    assert taken.wait(30), "the writer never took the first hit"  # it is stuck writing it now
    accepted = [writer.submit(make_hit(n)) for n in range(1, 6)]
    unblock.set()

    assert accepted == [True, True, False, False, False]
    assert writer.dropped == 3


def test_a_failing_write_does_not_end_the_writer(writers):
    sink = RecordingSink()
    calls = []

    def fails_once(*, hits):
        calls.append(len(hits))
        if len(calls) == 1:
            raise ValueError("bad batch")
        return sink(hits=hits)

    writer = writers(fails_once)
    writer.submit(make_hit(0))
    writer.flush()
    writer.submit(make_hit(1))
    writer.flush()

    assert [hit.request_id for hit in sink.hits] == ["req-1"]


@pytest.mark.django_db(transaction=True)
def test_background_writer_inserts_the_hits(writers):
    writer = writers(api_hits_write)
    for n in range(20):
        writer.submit(make_hit(n))

    writer.flush()

    assert UserAPIHitLog.objects.count() == 20


@pytest.mark.django_db
def test_write_resolves_a_bearer_token_to_its_user(login):
    user = UserFactory()
    access = login(user)["access"]

    api_hits_write(hits=[make_hit(bearer_token=access)])

    assert UserAPIHitLog.objects.get(request_id="req-0").user == user


@pytest.mark.django_db(transaction=True)  # SQLite checks foreign keys at commit
def test_write_keeps_a_hit_of_a_user_deleted_meanwhile_as_anonymous():
    api_hits_write(hits=[make_hit(0, user_id=987654)])

    assert UserAPIHitLog.objects.get(request_id="req-0").user is None


@pytest.mark.django_db
def test_purge_deletes_only_hits_older_than_the_cutoff():
    now = timezone.now()
    api_hits_write(hits=[make_hit(n, timestamp=now - timedelta(days=n)) for n in range(6)])

    deleted = api_hits_purge(older_than=now - timedelta(days=2, hours=12), batch_size=2)

    assert deleted == 3
    assert sorted(UserAPIHitLog.objects.values_list("request_id", flat=True)) == ["req-0", "req-1", "req-2"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_graceful_uvicorn_shutdown_with_several_workers_loses_no_hit():
    """uvicorn --workers children exit through os._exit (no atexit): the flush must still run."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}",
        "API_HIT_LOG_WRITER": "background",
        "API_HIT_LOG_FLUSH_SECS": "600",  # only the shutdown flush writes anything
        "API_HIT_LOG_BATCH_SIZE": "10000",
        "LOG_FILE": "",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "project.asgi:application",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
    )
    try:
        sent = 0
        deadline = time.monotonic() + 30
        while sent < 40:
            assert time.monotonic() < deadline, "uvicorn did not serve in time"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/users/me/", timeout=5)
            except urllib.error.HTTPError as answered:
                assert answered.code == 401
                sent += 1
            except OSError:
                time.sleep(0.2)
        assert UserAPIHitLog.objects.count() == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    assert UserAPIHitLog.objects.count() == 40
