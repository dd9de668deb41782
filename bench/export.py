"""The API-hit export as a person runs it, on MariaDB: the project served by uvicorn (the
product's ASGI server, one process), a superuser's CSV export of every column downloaded over
HTTP, at 1,000 hits and again at 1,000,000 hits (seeded as bench/admin_changelist.py seeds
them), each by a fresh server. Measured: the time to the first and the last byte, and the
server's resident memory before the export and at its peak (VmHWM).

Prints one line. Target: the peak at 1M rows within 1.25x the peak at 1k rows (constant memory).
`--app-root` serves another checkout of the project (an older commit: the before of a
before/after) against the same database.
"""

import argparse
import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import warnings

from harness import BENCH_DB_URL, ROOT, setup_django

EXPORT_URL = "/admin/users/userapihitlog/export/"
CHANGELIST_URL = "/admin/users/userapihitlog/"
SERVER_ENV = {"SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1_000, help="API hits in the baseline")
    parser.add_argument("--large", type=int, default=1_000_000, help="API hits in the big run")
    parser.add_argument("--format", default="csv", help="export format (its extension): csv, xlsx or json")
    parser.add_argument("--app-root", default=str(ROOT), help="the project checkout uvicorn serves")
    parser.add_argument("--keep", action="store_true", help="keep the large table (a next run reuses it)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="No directory at")
    setup_django(**SERVER_ENV)

    cookies = _superuser_cookies()
    runs = {}
    try:
        for rows in (args.small, args.large):
            _seed_hits(rows)
            runs[rows] = _export_run(args.app_root, cookies, args.format)
    finally:
        if not args.keep:
            _truncate_hits()
    served = os.path.relpath(args.app_root, ROOT) if args.app_root != str(ROOT) else "this checkout"
    small, large = runs[args.small], runs[args.large]
    print(
        f"export: API hits as {args.format.upper()} ({served}), {args.large:,} vs {args.small:,} rows: "
        f"peak server RSS {large['peak']:.0f} vs {small['peak']:.0f} MiB, {large['peak'] / small['peak']:.2f}x "
        f"(target <= 1.25x; +{large['peak'] - large['before']:.0f} MiB over the {large['before']:.0f} MiB "
        f"before the export); {large['what']} {large['lines']:,} lines, {large['mib']:.1f} MiB, first byte "
        f"after {large['first_byte']:.1f}s, last after {large['secs']:.1f}s (HTTP {large['status']})"
    )


def _export_run(app_root, cookies, extension) -> dict:
    """One export by a fresh server (its memory peak is the export's)."""
    server, port = _serve(app_root)
    try:
        _request(port, "GET", CHANGELIST_URL, cookies)  # warm: imports, templates, connection
        before = _memory_kb(server.pid, "VmRSS")
        started = time.perf_counter()
        status, is_file, lines, size, first_byte = _export(port, cookies, extension)
        secs = time.perf_counter() - started
        peak = _memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "status": status,
        "what": "a file of" if is_file else "refused (the form again):",
        "lines": lines,
        "mib": size / 2**20,
        "secs": secs,
        "first_byte": (first_byte or time.perf_counter()) - started,
        "before": before / 1024,
        "peak": peak / 1024,
    }


def _seed_hits(rows):
    """`rows` API hits (and up to 1,000 outbox rows, as the seeding writes them), unless already there."""
    from admin_changelist import _grow, _seed, _truncate

    from pubsub.models import QueuePublishHistory
    from users.models import UserAPIHitLog

    have = UserAPIHitLog.objects.count()
    if have == rows:  # kept by a --keep run
        return
    tables = [UserAPIHitLog._meta.db_table, QueuePublishHistory._meta.db_table]
    if have > rows or have == 0:
        _truncate(tables)
        _seed(min(rows, 1000))
    _grow(tables, {tables[0]: rows, tables[1]: 0})


def _truncate_hits():
    from admin_changelist import _truncate

    from pubsub.models import QueuePublishHistory
    from users.models import UserAPIHitLog

    _truncate([UserAPIHitLog._meta.db_table, QueuePublishHistory._meta.db_table])


def _superuser_cookies() -> str:
    """A logged-in superuser's session and a CSRF secret, as a Cookie header."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from users.models import User

    user = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser(
        username="bench_admin", email="bench_admin@example.com", password="bench-admin-Pa55"
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    # Django takes an unmasked 32-character secret as the token too
    csrf = secrets.token_hex(16)
    return f"sessionid={session.session_key}; csrftoken={csrf}"


def _serve(app_root):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        **SERVER_ENV,
        "DATABASE_URL": BENCH_DB_URL,
        "LOG_FILE": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
        # production settings less the static files manifest (never collected here), as the tests run
        "DJANGO_SETTINGS_MODULE": "project.test_settings",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "project.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=app_root,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if _request(port, "GET", "/healthz", "")[0] == 200:
                return server, port
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("uvicorn did not start")
        time.sleep(0.2)


def _request(port, method, url, cookies, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request(method, url, body=body, headers={"Cookie": cookies, **(headers or {})})
    response = connection.getresponse()
    content = response.read()
    connection.close()
    return response.status, content


def _export(port, cookies, extension):
    """POST the export form with every column; read the answer as it comes: (status, whether it is
    a file, lines, bytes, when its first byte came)."""
    from django.contrib import admin

    from users.models import UserAPIHitLog

    model_admin = admin.site._registry[UserAPIHitLog]
    formats = model_admin.get_export_formats()
    index = next(i for i, file_format in enumerate(formats) if file_format().get_extension() == extension)
    resource = model_admin.get_export_resource_classes(None)[0]
    prefix = resource.__name__.lower()
    form = {
        "format": str(index),
        "resource": "0",
        **{f"{prefix}_{name}": "on" for name in resource().get_export_order()},
    }
    csrf = cookies.rsplit("csrftoken=", 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request(
        "POST",
        EXPORT_URL,
        body=urllib.parse.urlencode(form),
        headers={
            "Cookie": cookies,
            "X-CSRFToken": csrf,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = connection.getresponse()
    is_file = (response.getheader("Content-Disposition") or "").startswith("attachment")
    lines = size = 0
    first_byte = None
    while chunk := response.read1(1 << 16):
        first_byte = first_byte or time.perf_counter()
        lines += chunk.count(b"\n")
        size += len(chunk)
    connection.close()
    return response.status, is_file, lines, size, first_byte


def _memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


if __name__ == "__main__":
    main()
