"""Admin changelists on big tables: the API-hit and outbox changelists (first page, and with a
status filter) rendered by Django's test client as a logged-in superuser on MariaDB, at 1,000 rows
and again at 1,000,000 rows in the same run (median of several renders each).

Then the skewed case, once at each size: every row of the filtered status is old (a past incident,
then only newer rows of other statuses), so a plan that walks the table newest first looking for
them reads all of it before it finds one.

Prints one line. Target: every page at 1M rows within 2x the same page at 1k rows.
"""

import argparse
import statistics
import time
import warnings

from harness import setup_django

PAGES = [
    # (name, admin URL); the filters are the admins' own
    ("api hits", "/admin/users/userapihitlog/"),
    ("api hits 5xx", "/admin/users/userapihitlog/?status_class=5"),
    ("outbox", "/admin/pubsub/queuepublishhistory/"),
    ("outbox error", "/admin/pubsub/queuepublishhistory/?status__exact=error"),
]
SKEWED_PAGES = [
    ("api hits 5xx old", "/admin/users/userapihitlog/?status_class=5"),
    ("outbox error old", "/admin/pubsub/queuepublishhistory/?status__exact=error"),
]
# share of the rows per status, as a deployment having a bad day looks; the filtered shares (10 %
# 5xx, 6 % error) fill a whole page at 1,000 rows too, so both runs render the same number of rows
API_STATUS_CODES = [200] * 75 + [201] * 5 + [400] * 3 + [401] * 3 + [404] * 4 + [500] * 5 + [503] * 5
OUTBOX_STATUSES = ["published"] * 88 + ["error"] * 6 + ["expired"] * 3 + ["pending"] * 3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1_000, help="rows per table in the baseline")
    parser.add_argument("--large", type=int, default=1_000_000, help="rows per table in the big run")
    parser.add_argument("--renders", type=int, default=9, help="timed renders per page (median)")
    args = parser.parse_args()
    # WhiteNoise's note that staticfiles/ was never collected: the bench renders, it serves no files
    warnings.filterwarnings("ignore", message="No directory at")
    setup_django(SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0")

    from django.test import Client
    from django.test.utils import override_settings

    from pubsub.models import QueuePublishHistory
    from users.models import User, UserAPIHitLog

    user = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser(
        username="bench_admin", email="bench_admin@example.com", password="bench-admin-Pa55"
    )
    tables = [UserAPIHitLog._meta.db_table, QueuePublishHistory._meta.db_table]
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        client = Client()
        client.force_login(user)
        try:
            _truncate(tables)
            _seed(args.small)
            small = {name: _median_render(client, url, args.renders) for name, url in PAGES}
            started = time.perf_counter()
            _grow(tables, args.large)
            grow_secs = time.perf_counter() - started
            large = {name: _median_render(client, url, args.renders) for name, url in PAGES}
            for size, renders in ((args.small, small), (args.large, large)):
                _truncate(tables)
                started = time.perf_counter()
                _seed_skewed(tables, size)
                if size == args.large:
                    grow_secs += time.perf_counter() - started
                renders.update({name: _median_render(client, url, args.renders) for name, url in SKEWED_PAGES})
        finally:
            _truncate(tables)

    names = [name for name, _ in PAGES + SKEWED_PAGES]
    ratios = {name: large[name] / small[name] for name in names}
    figures = ", ".join(
        f"{name} {ratios[name]:.2f}x ({large[name] * 1000:.1f} vs {small[name] * 1000:.1f} ms)" for name in names
    )
    print(
        f"admin_changelist: {args.large:,} vs {args.small:,} rows per table: {figures}; "
        f"worst {max(ratios.values()):.2f}x (target <= 2x; median of {args.renders}; loaded in {grow_secs:.0f}s)"
    )


def _median_render(client, url, renders, warmups=3):
    for _ in range(warmups):  # caches, connection, buffer pool (and InnoDB settling after the load)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get(url)
        response.content  # noqa: B018 - rendered in full
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings)


def _seed(n, *, api_status_codes=API_STATUS_CODES, outbox_statuses=OUTBOX_STATUSES):
    from django.utils import timezone

    from pubsub.models import QueuePublishHistory
    from users.models import UserAPIHitLog

    now = timezone.now()
    UserAPIHitLog.objects.bulk_create(
        [
            UserAPIHitLog(
                method="GET" if i % 5 else "POST",
                api_name=f"/api/users/{i % 997}/",
                status_code=api_status_codes[i % len(api_status_codes)],
                duration_ms=3.0 + i % 40,
                external_ip=f"10.0.{i % 250}.{i % 200 + 1}",
                browser_name="curl",
                os_name="Linux",
                device="Other",
                user_agent="curl/8.0",
                request_id=f"req-{i:08d}",
                timestamp=now - timezone.timedelta(seconds=i * 7),
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    QueuePublishHistory.objects.bulk_create(
        [
            QueuePublishHistory(
                queue_name="drf_queue",
                exchange_name="drf_exchange",
                deadletter_queue_name="drf_queue_DLQ",
                deadletter_exchange_name="drf_exchange_DLX",
                message_type="user.updated",
                message_body_json={"type": "user.updated", "user": {"id": i, "username": f"u{i}"}},
                status=outbox_statuses[i % len(outbox_statuses)],
                error_msg="connection refused" if outbox_statuses[i % len(outbox_statuses)] == "error" else "",
                next_attempt_at=None,
                timestamp=now - timezone.timedelta(seconds=i * 7),
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    _analyze()


def _seed_skewed(tables, n):
    """`n` rows per table: first (oldest) the filtered statuses' usual share (10 % 5xx, 6 % error)
    and nothing else, then only other statuses."""
    from django.db import connection

    _seed(10, api_status_codes=[500, 503], outbox_statuses=["error"])
    _grow(tables, {table: n * share // 100 for table, share in zip(tables, (10, 6), strict=True)})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM `{tables[0]}`")
        (api_last_old,) = cursor.fetchone()
        cursor.execute(f"SELECT MAX(id) FROM `{tables[1]}`")
        (outbox_last_old,) = cursor.fetchone()
    _seed(10, api_status_codes=[200, 201, 404], outbox_statuses=["published", "expired", "pending"])
    _grow(tables, n, after_ids={tables[0]: api_last_old, tables[1]: outbox_last_old})


def _grow(tables, target, *, after_ids=None):
    """Double each table with INSERT ... SELECT until it holds `target` rows (a number, or one per
    table; new UUIDs for the outbox's unique message ids), copying only the rows after
    `after_ids[table]` when given, then refresh the statistics."""
    from django.db import connection

    from pubsub.models import QueuePublishHistory
    from users.models import UserAPIHitLog

    for model in (UserAPIHitLog, QueuePublishHistory):
        table = model._meta.db_table
        wanted = target[table] if isinstance(target, dict) else target
        after_id = (after_ids or {}).get(table, 0)
        # generated columns compute themselves, and refuse a value
        columns = [f.column for f in model._meta.concrete_fields if not f.primary_key and not f.generated]
        selected = ["REPLACE(UUID(), '-', '')" if column == "message_id" else f"`{column}`" for column in columns]
        while True:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
                have = cursor.fetchone()[0]
                if have >= wanted:
                    break
                cursor.execute(f"SELECT COUNT(*) FROM `{table}` WHERE id > %s", [after_id])
                copyable = cursor.fetchone()[0]
                cursor.execute(
                    f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) "
                    f"SELECT {', '.join(selected)} FROM `{table}` WHERE id > %s "
                    f"ORDER BY id LIMIT {min(copyable, wanted - have)}",
                    [after_id],
                )
    _analyze()


def _analyze():
    from django.db import connection

    from pubsub.models import QueuePublishHistory
    from users.models import UserAPIHitLog

    with connection.cursor() as cursor:
        for model in (UserAPIHitLog, QueuePublishHistory):
            cursor.execute(f"ANALYZE TABLE `{model._meta.db_table}`")
            cursor.fetchall()


def _truncate(tables):
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"TRUNCATE TABLE `{table}`")


if __name__ == "__main__":
    main()
