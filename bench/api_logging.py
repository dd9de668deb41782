"""API-hit logging cost: authenticated GET /api/users/me/ throughput of uvicorn on MariaDB with the
hit log on (the background writer) against off (API_HIT_LOG_ENABLED=0), in the same run. Rounds
alternate off-on, on-off, ... so drift on a shared machine hits both alike; each "on" server is
stopped gracefully and every request it answered must be in UserAPIHitLog.

Prints one line. Target: on >= 0.9x off.
"""

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import ROOT, setup_django

ME_PATH = "/api/users/me/"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secs", type=float, default=8.0, help="measured seconds per round")
    parser.add_argument("--rounds", type=int, default=4, help="off/on pairs")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive client connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    setup_django()

    from users.models import User, UserAPIHitLog
    from users.tokens import token_pair_for_user

    user, _ = User.objects.get_or_create(username="bench_api_logging", defaults={"email": "bench@example.com"})
    access = token_pair_for_user(user)["access"]

    results = {"off": [], "on": []}
    logged, answered = 0, 0
    for round_number in range(args.rounds):
        for mode in ("off", "on") if round_number % 2 == 0 else ("on", "off"):
            before = UserAPIHitLog.objects.count()
            server, port = start_server(enabled=mode == "on", workers=args.workers)
            try:
                warm = run_load(port, access, secs=1.0, connections=args.connections)
                cpu_before = server_cpu_secs(server.pid)
                measured = run_load(port, access, secs=args.secs, connections=args.connections)
                cpu = server_cpu_secs(server.pid) - cpu_before
            finally:
                stop_server(server)
            results[mode].append((measured["ok"] / args.secs, measured["ok"] / cpu if cpu else 0.0))
            assert measured["errors"] == 0, f"{measured['errors']} failed requests with logging {mode}"
            if mode == "on":
                logged += UserAPIHitLog.objects.count() - before
                answered += warm["ok"] + measured["ok"]
    UserAPIHitLog.objects.filter(user=user).delete()

    off_rate, on_rate = mean(r for r, _ in results["off"]), mean(r for r, _ in results["on"])
    off_per_cpu, on_per_cpu = mean(c for _, c in results["off"]), mean(c for _, c in results["on"])
    print(
        f"api_logging: on {on_rate:,.0f} req/s = {on_rate / off_rate:.2f}x off ({off_rate:,.0f} req/s); "
        f"per server CPU-second {on_per_cpu / off_per_cpu:.2f}x; hits logged {logged}/{answered}; "
        f"{args.rounds}x{args.secs:.0f}s per mode, {args.connections} connections, {args.workers} worker(s) "
        f"(target 0.9x)"
    )


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(*, enabled: bool, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "API_HIT_LOG_ENABLED": "1" if enabled else "0",
        "API_HIT_LOG_WRITER": "background",
        "LOG_FILE": "",
        # under ASGI every request's sync code runs in a thread of its own: persistent connections
        # would pile up (one per request for CONN_MAX_AGE seconds) until MariaDB refuses more
        "CONN_MAX_AGE": "0",
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
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("uvicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def server_cpu_secs(pid: int) -> float:
    """CPU seconds used so far by the server process and its worker processes."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(each) for each in children.read_text().split()]
    total = 0
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def run_load(port: int, access: str, *, secs: float, connections: int) -> dict[str, int]:
    """`connections` threads, each a keep-alive connection sending GETs back to back."""
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + secs
    headers = {"Authorization": f"Bearer {access}", "User-Agent": "bench/api_logging"}

    def client():
        ok = errors = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            connection.request("GET", ME_PATH, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                ok += 1
            else:
                errors += 1
        connection.close()
        with lock:
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


if __name__ == "__main__":
    main()
