"""Resync: snapshot throughput against the relay's own throughput, and live latency during a resync,
measured in the same run on two deployments (a sender database and a receiver database on the
same MariaDB), with producer_service, user_sync_consumer and `manage.py users_resync` as processes.

1. relay: producer_service drains N ordinary rows (the snapshots' bodies, inserted in one
   transaction) to the queue; its rate is the baseline.
2. live, no resync: a user created on the sender every LIVE_INTERVAL; latency from its commit to
   the user being in the receiver's database (p50, p99).
3. live during a resync: `users_resync --all` of the N users runs while users are created at the
   same pace; the resync's rate is from its start until its last snapshot is published, and the
   live latency is measured meanwhile.

Prints one line. Targets: live p99 during a resync <= 2x without (and within the 50 ms + what the
resync's bounds allow), resync rate against the relay's.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time

from harness import BENCH_DB_URL, ROOT, _create_database, delete_route, setup_django

LIVE_INTERVAL = 0.05
LIVE_BASELINE = 200
POLL_SECS = 0.002


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000, help="users on the sender, all of them resynced")
    parser.add_argument("--relay-n", type=int, default=20_000, help="ordinary rows for the relay baseline")
    args = parser.parse_args()
    receiver_url = BENCH_DB_URL.rsplit("/", 1)[0] + "/" + BENCH_DB_URL.rsplit("/", 1)[1] + "_recv"
    setup_django()

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from pubsub.conf import user_sync_routes
    from pubsub.models import QueuePublishHistory
    from users.models import User, UserResyncJob, user_codes_allocate
    from users.sync_payload import USER_SNAPSHOT, user_message_body

    route = user_sync_routes()[0]
    receiver_env = dict(
        os.environ,
        DATABASE_URL=receiver_url,
        DEPLOYMENT_NAME=settings.DEPLOYMENT_NAME + "-receiver",
        USER_SYNC_CONSUME_QUEUES=route.queue,
    )
    _drop_database(receiver_url)
    _create_database(receiver_url)
    _manage("migrate", "--noinput", env=receiver_env).wait()

    QueuePublishHistory.objects.all().delete()
    User.objects.all().delete()
    UserResyncJob.objects.all().delete()
    password = make_password("Bench-passw0rd!")
    codes = user_codes_allocate(count=args.n)
    User.objects.bulk_create(
        [
            User(
                username=f"bench{i}",
                email=f"bench{i}@example.com",
                first_name=f"First{i}",
                last_name=f"Last{i}",
                password=password,
                user_code=code,
            )
            for i, code in enumerate(codes)
        ],
        batch_size=5000,
    )
    receiver = _receiver_connection(receiver_url)
    daemons = []
    try:
        # 0. the job alone, enqueueing every snapshot with no relay and no bounds to wait for
        from users.services.resync import user_resync_job_run
        from users.services.resync_jobs import user_resync_job_create

        bounds = (settings.USER_RESYNC_OUTBOX_BACKLOG_MAX, settings.USER_RESYNC_QUEUE_DEPTH_MAX)
        settings.USER_RESYNC_OUTBOX_BACKLOG_MAX = settings.USER_RESYNC_QUEUE_DEPTH_MAX = 0
        job = user_resync_job_create(queue=route.queue, scope=UserResyncJob.Scope.ALL, background=False)
        started = time.perf_counter()
        user_resync_job_run(job_id=job.pk)
        enqueue_rate = args.n / (time.perf_counter() - started)
        settings.USER_RESYNC_OUTBOX_BACKLOG_MAX, settings.USER_RESYNC_QUEUE_DEPTH_MAX = bounds
        QueuePublishHistory.objects.all().delete()
        UserResyncJob.objects.all().delete()

        relay = _manage("producer_service", env=dict(os.environ))
        daemons.append(relay)

        # 1. the relay's own rate, draining ordinary rows (the snapshots' bodies)
        users = User.objects.order_by("pk")[: args.relay_n]
        rows = [
            QueuePublishHistory(
                queue_name=route.queue,
                exchange_name=route.exchange,
                deadletter_queue_name=route.deadletter_queue,
                deadletter_exchange_name=route.deadletter_exchange,
                message_type="bench.ordinary",
                message_body_json=user_message_body(user=user, message_type="bench.ordinary"),
            )
            for user in users
        ]
        with transaction.atomic():
            QueuePublishHistory.objects.bulk_create(rows, batch_size=2000)
        started = time.perf_counter()
        _wait(lambda: not _pending(QueuePublishHistory, "bench.ordinary"), what="the relay baseline")
        relay_rate = len(rows) / (time.perf_counter() - started)
        _purge(route.queue)
        QueuePublishHistory.objects.all().delete()

        # 2. live latency with nothing else to do
        consumer = _manage("user_sync_consumer", env=receiver_env)
        daemons.append(consumer)
        # its start (a second or two) is no latency of the messages
        _wait(
            lambda: _scalar(receiver, "SELECT COUNT(*) FROM pubsub_workerheartbeat WHERE state = 'running'"),
            what="the consumer to start",
        )
        quiet = _live_latencies(User, receiver, prefix="quiet", until=lambda n: n >= LIVE_BASELINE)

        # 3. the same during a resync of every user
        resync_started = time.perf_counter()
        resync = _manage("users_resync", "--queue", route.queue, "--all", env=dict(os.environ), quiet=True)
        busy = _live_latencies(
            User,
            receiver,
            prefix="busy",
            until=lambda n: resync.poll() is not None and not _pending(QueuePublishHistory, USER_SNAPSHOT),
        )
        assert resync.returncode == 0, "users_resync failed"
        resync_secs = time.perf_counter() - resync_started
        # every user, with the live ones created before and during it
        snapshots = UserResyncJob.objects.get().enqueued
        resync_rate = snapshots / resync_secs
        applied = _wait(
            lambda: _scalar(receiver, "SELECT COUNT(*) FROM users_usersyncinbox") >= snapshots + len(quiet) + len(busy),
            what="the receiver to apply every snapshot",
            timeout=600,
        )
        apply_secs = time.perf_counter() - resync_started
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            daemon.wait(30)
        receiver.close()
        delete_route(route)
        QueuePublishHistory.objects.all().delete()
        User.objects.all().delete()
        UserResyncJob.objects.all().delete()
        _drop_database(receiver_url)

    quiet_p50, quiet_p99 = _percentiles(quiet)
    busy_p50, busy_p99 = _percentiles(busy)
    print(
        f"resync: {resync_rate:,.0f} snapshots/s published = {resync_rate / relay_rate:.2f}x the relay's own rate "
        f"({relay_rate:,.0f} msg/s draining {len(rows):,} ordinary rows; the job alone enqueues "
        f"{enqueue_rate:,.0f}/s = {enqueue_rate / relay_rate:.2f}x), all {args.n:,} applied by the receiver "
        f"in {apply_secs:.0f} s ({snapshots / apply_secs:,.0f}/s); live commit-to-applied p99 {busy_p99:.0f} ms "
        f"during the resync = {busy_p99 / quiet_p99:.2f}x without ({quiet_p99:.0f} ms; p50 {busy_p50:.0f} vs "
        f"{quiet_p50:.0f} ms; {len(busy)} and {len(quiet)} live users); bounds: outbox "
        f"{settings.USER_RESYNC_OUTBOX_BACKLOG_MAX}, queue {settings.USER_RESYNC_QUEUE_DEPTH_MAX}, batch "
        f"{settings.USER_RESYNC_BATCH_SIZE}; n={args.n:,} ({snapshots:,} snapshots)"
        + ("" if applied else " (receiver did not finish)")
    )


def _manage(*args, env: dict, quiet: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def _pending(model, message_type: str) -> bool:
    # on outbox_status_idx (few rows wait): the bench's polling must not load the database it measures
    return model.objects.filter(status__in=["pending", "error"], message_type=message_type).exists()


def _wait(condition, *, what: str, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.05)
    return result


def _live_latencies(User, receiver, *, prefix: str, until) -> list[float]:
    """Create a user every LIVE_INTERVAL (jittered) and time each from its commit until the
    receiver holds it, until `until(count)`."""
    tag = f"{prefix}{random.randrange(10**6)}-"
    latencies: list[float] = []
    pending: dict[str, float] = {}
    lock = threading.Lock()
    done = threading.Event()

    def watch():
        while not done.is_set() or pending:
            with lock:
                waiting = dict(pending)
            if waiting:
                placeholders = ", ".join(["%s"] * len(waiting))
                cursor = receiver.cursor()
                cursor.execute(f"SELECT username FROM users_user WHERE username IN ({placeholders})", list(waiting))
                now = time.perf_counter()
                for (username,) in cursor.fetchall():
                    with lock:
                        latencies.append((now - pending.pop(username)) * 1000)
            time.sleep(POLL_SECS)

    watcher = threading.Thread(target=watch)
    watcher.start()
    count = 0
    try:
        while not until(count):
            time.sleep(random.uniform(0.5, 1.5) * LIVE_INTERVAL)
            username = f"{tag}{count}"
            User.objects.create(username=username, email=f"{username}@example.com")
            with lock:
                pending[username] = time.perf_counter()
            count += 1
    finally:
        done.set()
        watcher.join(120)
    return latencies


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _receiver_connection(url: str):
    import environ
    import MySQLdb

    config = environ.Env.db_url_config(url)
    return MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        passwd=config["PASSWORD"] or "",
        db=config["NAME"],
        autocommit=True,
    )


def _scalar(connection, sql: str):
    cursor = connection.cursor()
    cursor.execute(sql)
    return cursor.fetchone()[0]


def _drop_database(url: str) -> None:
    import environ
    import MySQLdb

    config = environ.Env.db_url_config(url)
    connection = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        passwd=config["PASSWORD"] or "",
    )
    connection.cursor().execute(f"DROP DATABASE IF EXISTS `{config['NAME']}`")
    connection.close()


def _purge(queue: str) -> None:
    from pubsub.broker import connect

    connection = connect()
    connection.channel().queue_purge(queue)
    connection.close()


if __name__ == "__main__":
    main()
