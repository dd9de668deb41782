"""Shared set-up for the benchmarks: Django on a dedicated MariaDB database, unique queue names.

Not named common.py: run as `python bench/x.py`, bench/ comes first on sys.path, and a
bench/common.py would hide the project's `common` package from the settings."""

import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BENCH_DATABASE_URL, else DATABASE_URL when it is MySQL/MariaDB, else a database of their own
BENCH_DB_URL = (
    os.environ.get("BENCH_DATABASE_URL")
    or (os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("mysql") else "")
    or "mysql://root@127.0.0.1:3306/opsconsole_bench"
)


def setup_django(**env):
    """Configure Django for a benchmark run (its own database and queues) and migrate."""
    sys.path.insert(0, str(ROOT))
    suffix = uuid.uuid4().hex[:8]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
            "DATABASE_URL": BENCH_DB_URL,
            "USER_SYNC_EXCHANGE": f"bench_x_{suffix}",
            "USER_SYNC_QUEUES": f"bench_q_{suffix}",
            "LOG_LEVEL": "WARNING",
            # the sync consumer refuses the default name
            "DEPLOYMENT_NAME": f"bench-{suffix}",
            **env,
        }
    )
    _create_database(BENCH_DB_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _create_database(url: str) -> None:
    import environ

    config = environ.Env.db_url_config(url)
    if "mysql" not in config["ENGINE"]:
        return
    import MySQLdb

    conn = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        passwd=config["PASSWORD"] or "",
    )
    conn.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{config['NAME']}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    conn.close()


def delete_route(route) -> None:
    from pubsub.broker import connect

    connection = connect()
    channel = connection.channel()
    for queue in (route.queue, route.deadletter_queue):
        channel.queue_delete(queue)
    for exchange in (route.exchange, route.deadletter_exchange):
        channel.exchange_delete(exchange)
    connection.close()


def kb_body(i: int) -> dict:
    """A ~1 KB user-like message body."""
    return {
        "type": "user.created",
        "source": "bench",
        "source_id": i,
        "user": {"username": f"bench{i}", "email": f"bench{i}@example.com", "address": "x" * 850},
    }
