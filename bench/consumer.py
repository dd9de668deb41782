"""user_sync_consumer against the database's ceiling for the same rows, measured in the same run.

Bare consumption is not the ceiling of a consumer that must write rows: the database is. The
ceiling writes the rows the consumer wrote for the same messages (a user, its sync link, its inbox
row and one audit entry each) once more: read back after the consumer's run, moved to another
source (usernames, codes and message ids of the same length) and converted to what the driver
sends before the clock starts, then sent on the driver's own cursor in batches of 100 messages,
one transaction (BEGIN … COMMIT) a batch: new users by a multi-row INSERT … RETURNING id, their
links, the audit entries and the inbox rows by multi-row INSERTs, the updated users and their
links by one INSERT … ON DUPLICATE KEY UPDATE each, writing the columns the consumer writes. That
is the fastest bulk UPDATE tried on MariaDB 10.11 (50 users a statement, paired runs: 5-10% over
UPDATE … JOIN (VALUES …), which `--ceiling-update join` measures instead, and about 1.4x CASE WHEN).

Two workloads of N messages: user.created, then creates of new users and updates of the users
the first workload created in turn (the fields a person edits change; the password does not).
Bare pika consuming (prefetch 100, an ack per message) is printed for context. Prints one line.
Target: >= 0.9x the ceiling, for creates and for the mix."""

import argparse
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from harness import delete_route, setup_django

BATCH = 100
PASSWORD_HASH = "pbkdf2_sha256$1000000$salt$" + "A" * 43 + "="


@dataclass(frozen=True)
class Sent:
    message_id: uuid.UUID
    type: str
    source_id: int
    version: int
    body: bytes


def user_body(source: str, source_id: int, message_type: str, revision: int) -> bytes:
    """A body as users.sync_payload.user_message_body makes it: every synced field."""
    user = {
        "username": f"{source}-{source_id}",
        "user_code": f"UC{source_id:06d}",
        "email": f"user{source_id}.r{revision}@example.com",
        "first_name": "Bench",
        "middle_name": "",
        "last_name": f"User{source_id} r{revision}",
        "user_type": "student",
        "gender": "female",
        "phone_no": f"+1-555-{source_id % 10000:04d}-{revision}",
        "dob": "2004-05-06",
        "nationality": "Kenyan",
        "address": f"{source_id} Long Street, revision {revision}, Springfield",
        "session": "2025/26",
        "semester": "1",
        "stream": "science",
        "course": "physics",
        "profile_img": None,
        "is_active": True,
        "is_deleted": False,
        "deleted_at": None,
        "date_joined": "2025-09-01T08:00:00Z",
        "registered_on": "2025-09-01T08:00:00Z",
        "updated_at": "2025-09-01T08:00:00Z",
        "password": PASSWORD_HASH,
        "is_staff": False,
        "is_superuser": False,
        "class_teacher_username": None,
    }
    body = {"type": message_type, "source": source, "source_id": source_id, "occurred_at": "2026-01-01T00:00:00Z"}
    return json.dumps(body | {"user": user}).encode()


def messages_create(source: str, source_ids) -> list[Sent]:
    from users.sync_payload import USER_CREATED

    return [Sent(uuid.uuid4(), USER_CREATED, i, i + 1, user_body(source, i, USER_CREATED, 0)) for i in source_ids]


def messages_mix(source: str, new_ids, updated_ids, version: int) -> list[Sent]:
    """A create and an update in turn; each update newer than its user's create."""
    from users.sync_payload import USER_CREATED, USER_UPDATED

    sent = []
    for new, updated in zip(new_ids, updated_ids, strict=True):
        sent.append(Sent(uuid.uuid4(), USER_CREATED, new, new + 1, user_body(source, new, USER_CREATED, 0)))
        sent.append(Sent(uuid.uuid4(), USER_UPDATED, updated, version, user_body(source, updated, USER_UPDATED, 1)))
        version += 1
    return sent


def publish(channel, route, messages: list[Sent]) -> None:
    import pika

    for message in messages:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=str(message.message_id),
            type=message.type,
            headers={"x-outbox-id": message.version},
        )
        channel.basic_publish(route.exchange, route.queue, message.body, properties)


def bare_consume_rate(channel, route, messages: list[Sent]) -> float:
    publish(channel, route, messages)
    channel.basic_qos(prefetch_count=BATCH)
    received = 0
    started = time.perf_counter()
    for method, _props, _body in channel.consume(route.queue, inactivity_timeout=5):
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
        received += 1
        if received == len(messages):
            break
    elapsed = time.perf_counter() - started
    channel.cancel()
    assert received == len(messages), f"consumed {received} of {len(messages)}"
    return received / elapsed


def consumer_rate(channel, route, messages: list[Sent]) -> float:
    """The daemon applying `messages`: from its start to its last ack."""
    from users.models import UserSyncInbox
    from users.sync_consumer import UserSyncConsumer

    publish(channel, route, messages)
    consumer = UserSyncConsumer()
    thread = threading.Thread(target=consumer.run)
    started = time.perf_counter()
    thread.start()
    deadline = time.monotonic() + 600
    while consumer.processed < len(messages) and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    consumer.stop()
    thread.join()
    ids = [message.message_id for message in messages]
    applied = UserSyncInbox.objects.filter(message_id__in=ids, outcome="applied").count()
    assert applied == len(messages), f"applied {applied} of {len(messages)}"
    return len(messages) / elapsed


@dataclass
class Statement:
    sql: str
    params: list  # flat, as the driver takes them
    # (index in params, index of a user the batch inserts, as text): filled with that user's id
    new_user_ids: list[tuple[int, int, bool]] = field(default_factory=list)


@dataclass
class CeilingBatch:
    users_insert: Statement | None
    rest: list[Statement]


class Ceiling:
    """The consumer's rows of a source written again, from memory, under another source."""

    def __init__(self, *, source: str, ceiling_source: str, update_form: str):
        from django.db import connection

        assert len(source) == len(ceiling_source)
        connection.ensure_connection()
        self.connection = connection
        self.source, self.ceiling_source = source, ceiling_source
        self.update_form = update_form
        self.user_ids: dict[int, int] = {}  # source_id -> the ceiling's user
        self.link_ids: dict[int, int] = {}  # source_id -> the ceiling's link

    def rate(self, messages: list[Sent]) -> float:
        batches = [self._batch(chunk) for chunk in self._chunks(messages)]
        elapsed = self._run(batches)
        self._remember()
        return len(messages) / elapsed

    # -- the clocked part --------------------------------------------------------------------
    def _run(self, batches: list[CeilingBatch]) -> float:
        driver = self.connection.connection
        cursor = driver.cursor()
        started = time.perf_counter()
        for batch in batches:
            cursor.execute("BEGIN")
            ids = []
            if batch.users_insert is not None:
                cursor.execute(batch.users_insert.sql, batch.users_insert.params)
                ids = [pk for (pk,) in cursor.fetchall()]
            for statement in batch.rest:
                for index, new_user, as_text in statement.new_user_ids:
                    statement.params[index] = str(ids[new_user]) if as_text else ids[new_user]
                cursor.execute(statement.sql, statement.params)
            driver.commit()
        elapsed = time.perf_counter() - started
        cursor.close()
        return elapsed

    # -- preparing, before the clock ---------------------------------------------------------
    @staticmethod
    def _chunks(messages: list[Sent]):
        for start in range(0, len(messages), BATCH):
            yield messages[start : start + BATCH]

    def _remember(self) -> None:
        from users.models import SyncedUserLink

        for link_id, source_id, user_id in SyncedUserLink.objects.filter(source=self.ceiling_source).values_list(
            "pk", "source_id", "user_id"
        ):
            self.link_ids[source_id], self.user_ids[source_id] = link_id, user_id

    def _moved(self, value):
        """A value of the consumer's rows, under the ceiling's source."""
        if isinstance(value, str):
            return value.replace(self.source, self.ceiling_source)
        if isinstance(value, dict):
            return json.loads(json.dumps(value).replace(self.source, self.ceiling_source))
        return value

    def _rows(self, model, rows: list[dict], columns: list[str]) -> list[list]:
        """Each row's values of `columns` as the driver takes them."""
        fields = [model._meta.get_field(name) for name in columns]
        return [[f.get_db_prep_save(self._moved(row[f.attname]), self.connection) for f in fields] for row in rows]

    def _insert(
        self, model, rows: list[dict], *, returning: bool = False, with_pk: bool = False
    ) -> tuple[Statement, list[str]]:
        opts = model._meta
        names = [f.attname for f in opts.concrete_fields if not f.generated and (with_pk or f is not opts.pk)]
        qn = self.connection.ops.quote_name
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        sql = (
            f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(opts.get_field(n).column) for n in names)}) "
            f"VALUES {', '.join([placeholders] * len(rows))}"
        )
        if returning:
            sql += f" RETURNING {qn(opts.pk.column)}"
        params = [value for row in self._rows(model, rows, names) for value in row]
        return Statement(sql, params), names

    def _update(self, model, rows: list[dict], names: list[str]) -> Statement:
        """One statement updating `names` of rows by primary key (the rows carry theirs as "id")."""
        opts = model._meta
        qn = self.connection.ops.quote_name
        table = qn(opts.db_table)
        if self.update_form == "odku":
            # every column: a row's NOT NULL columns need values even when the row exists
            statement, _ = self._insert(model, rows, with_pk=True)
            columns = [qn(opts.get_field(n).column) for n in names]
            statement.sql += " ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in columns)
            return statement
        columns = [qn(opts.pk.column)] + [qn(opts.get_field(n).column) for n in names]
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        values = f"(WITH v ({', '.join(columns)}) AS (VALUES {', '.join([placeholders] * len(rows))}) SELECT * FROM v)"
        sets = ", ".join(f"t.{c} = v.{c}" for c in columns[1:])
        sql = f"UPDATE {table} AS t JOIN {values} AS v ON t.{columns[0]} = v.{columns[0]} SET {sets}"
        params = [value for row in self._rows(model, rows, [opts.pk.attname, *names]) for value in row]
        return Statement(sql, params)

    def _batch(self, chunk: list[Sent]) -> CeilingBatch:
        from auditlog.models import LogEntry

        from users.models import SyncedUserLink, User, UserSyncInbox
        from users.sync_batch import UPDATED_FIELDS
        from users.sync_payload import USER_CREATED

        links = {
            link["source_id"]: link
            for link in SyncedUserLink.objects.filter(
                source=self.source, source_id__in=[m.source_id for m in chunk]
            ).values()
        }
        users = {
            user["id"]: user
            for user in User.objects.filter(pk__in=[link["user_id"] for link in links.values()]).values()
        }
        inbox = {
            row["message_id"]: row
            for row in UserSyncInbox.objects.filter(message_id__in=[m.message_id for m in chunk]).values()
        }
        audit = {
            entry["additional_data"]["sync"]["message_id"]: entry
            for entry in LogEntry.objects.filter(
                object_id__in=list(users), additional_data__sync__source=self.source
            ).values()
        }
        created = [m for m in chunk if m.type == USER_CREATED]
        updated = [m for m in chunk if m.type != USER_CREATED]
        new_index = {m.source_id: index for index, m in enumerate(created)}

        users_insert = None
        rest = []
        if created:
            rows = [users[links[m.source_id]["user_id"]] for m in created]
            rows = [row | {"user_code": "X" + row["user_code"][1:]} for row in rows]
            users_insert, _ = self._insert(User, rows, returning=True)
            statement, names = self._insert(SyncedUserLink, [links[m.source_id] for m in created])
            column = names.index("user_id")
            statement.new_user_ids = [(row * len(names) + column, row, False) for row in range(len(created))]
            rest.append(statement)
        if updated:
            rows = [
                (row := users[links[m.source_id]["user_id"]])
                | {"id": self.user_ids[m.source_id], "user_code": "X" + row["user_code"][1:]}
                for m in updated
            ]
            attnames = [User._meta.get_field(name).attname for name in UPDATED_FIELDS]
            rest.append(self._update(User, rows, attnames))
            rows = [
                links[m.source_id] | {"id": self.link_ids[m.source_id], "user_id": self.user_ids[m.source_id]}
                for m in updated
            ]
            rest.append(self._update(SyncedUserLink, rows, ["last_version", "updated_at"]))
        entries = []
        for message in chunk:
            entry = audit[str(message.message_id)]
            moved_id = str(uuid.uuid4())
            data = {"sync": entry["additional_data"]["sync"] | {"message_id": moved_id}}
            if message.type == USER_CREATED:
                entries.append(entry | {"additional_data": data})
            else:
                user_id = self.user_ids[message.source_id]
                entries.append(entry | {"additional_data": data, "object_id": user_id, "object_pk": str(user_id)})
        statement, names = self._insert(LogEntry, entries)
        for row, message in enumerate(chunk):
            if message.type == USER_CREATED:
                new_user = new_index[message.source_id]
                statement.new_user_ids.append((row * len(names) + names.index("object_pk"), new_user, True))
                statement.new_user_ids.append((row * len(names) + names.index("object_id"), new_user, False))
        rest.append(statement)
        rows = [inbox[m.message_id] | {"message_id": uuid.uuid4()} for m in chunk]
        rest.append(self._insert(UserSyncInbox, rows)[0])
        return CeilingBatch(users_insert, rest)


def cleanup(*sources: str) -> None:
    """Raw deletes: a deleted user would get an audit entry of its own."""
    from auditlog.models import LogEntry
    from django.db import connection

    from users.models import ConflictingUserSyncLog, SyncedUserLink, User, UserSyncInbox

    for source in sources:
        users = list(User.objects.filter(username__startswith=source + "-").values_list("pk", flat=True))
        for start in range(0, len(users), 1000):
            LogEntry.objects.filter(object_id__in=users[start : start + 1000]).delete()
        SyncedUserLink.objects.filter(source=source).delete()
        UserSyncInbox.objects.filter(source=source).delete()
        ConflictingUserSyncLog.objects.filter(source=source).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM users_user WHERE username LIKE %s", [source + "-%"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5000, help="messages per workload (even)")
    parser.add_argument(
        "--ceiling-update",
        choices=["join", "odku"],
        default="odku",
        help="the ceiling's bulk UPDATE: UPDATE … JOIN (VALUES …) or INSERT … ON DUPLICATE KEY UPDATE",
    )
    args = parser.parse_args()
    n = args.n // 2 * 2
    setup_django(USER_SYNC_PREFETCH=str(BATCH))

    from pubsub.broker import connect, declare_route
    from pubsub.conf import user_sync_routes

    route = user_sync_routes()[0]
    run = uuid.uuid4().hex[:6]
    # the same length: the ceiling's rows are the consumer's, moved
    bare, source, ceiling_source = f"benchz-{run}", f"bencha-{run}", f"benchb-{run}"
    connection = connect()
    channel = connection.channel()
    declare_route(channel, route)
    ceiling = Ceiling(source=source, ceiling_source=ceiling_source, update_form=args.ceiling_update)
    try:
        bare_rate = bare_consume_rate(channel, route, messages_create(bare, range(n)))

        creates = messages_create(source, range(n))
        consumer_creates = consumer_rate(channel, route, creates)
        ceiling_creates = ceiling.rate(creates)

        mix = messages_mix(source, range(n, n + n // 2), range(n // 2), version=2 * n)
        consumer_mix = consumer_rate(channel, route, mix)
        ceiling_mix = ceiling.rate(mix)
    finally:
        delete_route(route)
        connection.close()
        cleanup(bare, source, ceiling_source)

    print(
        f"consumer: creates {consumer_creates:,.0f} msg/s = {consumer_creates / ceiling_creates:.2f}x the database's "
        f"ceiling ({ceiling_creates:,.0f} msg/s of the same rows); mix 50% creates/50% updates "
        f"{consumer_mix:,.0f} msg/s = {consumer_mix / ceiling_mix:.2f}x ({ceiling_mix:,.0f} msg/s); "
        f"bare pika consume {bare_rate:,.0f} msg/s; n={n}, batches of {BATCH} (target 0.9x)"
    )


if __name__ == "__main__":
    main()
