"""A process whose clock is off: Debian's libfaketime (package faketime) preloaded into it, so
time.time() and datetime.now() in that process run ahead or behind by a fixed offset. The
monotonic clock is left alone: timeouts and waits measure real durations, as on a host whose
wall clock is simply wrong."""

import glob
import subprocess
import sys
import time

from tests.support.services import service_missing

LIBRARY_GLOB = "/usr/lib/*/faketime/libfaketimeMT.so.1"


def faketime_library() -> str:
    found = sorted(glob.glob(LIBRARY_GLOB))
    if not found:
        service_missing("needs libfaketime (Debian's faketime package; .ci/services.sh installs it)")
    return found[0]


def faketime_env(offset: str) -> dict[str, str]:
    """Environment entries that shift a process's wall clock by `offset` ("+10m", "-10m")."""
    return {"LD_PRELOAD": faketime_library(), "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def wall_clock_offset_secs(env: dict[str, str]) -> float:
    """How far the wall clock of a Python process started with `env` is from ours, in seconds
    (what it reads from time.time() and datetime.now() agree, or this fails)."""
    code = "import datetime, time; print(time.time(), datetime.datetime.now(datetime.timezone.utc).timestamp())"
    before = time.time()
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    after = time.time()
    seen_by_time, seen_by_datetime = map(float, output.split())
    assert abs(seen_by_time - seen_by_datetime) < 1, output
    return seen_by_time - (before + after) / 2
