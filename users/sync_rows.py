"""Multi-row INSERTs and UPDATEs for the sync consumer's batch apply, without the ORM's per-value
compile.

`bulk_create` sends every value of every row through the generic compiler path (expression
checks, pre_save, get_db_prep_save): for the 56 columns of a user that was half the consumer's
time. Here a column holding the same value in every row is prepared once (most of a new user's
columns hold their default), and the statement is the one Django builds: parameterised, chunked
to the backend's limit, with RETURNING where the backend has it.

`bulk_update` is worse: a CASE WHEN per column holding a WHEN per row, each an expression resolved
and compiled on its own (1,300 for 50 users), 85% of the apply time of a batch of 50 creates and
50 updates (cProfile). Here the rows are one table of values the UPDATE joins by primary key: about
a 40th of that time.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import DateField, F, Field


def instances_insert(*, objs: list) -> None:
    """INSERT unsaved instances of one model as `bulk_create` would. Their pks are set where the
    backend returns them from a multi-row INSERT (MariaDB, SQLite 3.35+); elsewhere they stay
    None and the caller looks them up."""
    if not objs:
        return
    model = type(objs[0])
    fields = _insert_fields(model)
    columns = []
    for field in fields:
        if _is_auto_time(field):
            # one timestamp per statement, set on every instance as pre_save would
            now = field.pre_save(objs[0], True)
            for obj in objs[1:]:
                setattr(obj, field.attname, now)
            columns.append([now] * len(objs))
        elif type(field).pre_save is Field.pre_save or isinstance(field, DateField):  # auto_now is above
            columns.append([getattr(obj, field.attname) for obj in objs])
        else:  # a file is saved in pre_save
            columns.append([field.pre_save(obj, True) for obj in objs])
    pks = _insert(model, fields, columns)
    for index, obj in enumerate(objs):
        if pks:
            obj.pk = pks[index]
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


def rows_insert(*, model, rows: list[dict]) -> None:
    """INSERT rows given as {attname: value} (every row with the same keys), skipping the model
    instances no one reads afterwards; a column left out takes its field's default, an auto_now
    one the statement's time."""
    if not rows:
        return
    fields = _insert_fields(model)
    columns = []
    for field in fields:
        if _is_auto_time(field):
            columns.append([field.pre_save(model(), True)] * len(rows))
        elif field.attname in rows[0]:
            columns.append([row[field.attname] for row in rows])
        elif field.has_default() and callable(field.default):
            columns.append([field.get_default() for _ in rows])
        else:
            columns.append([field.get_default()] * len(rows))
    _insert(model, fields, columns, returning=False)


def _insert_fields(model) -> list[Field]:
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.pk]
    if any(hasattr(f, "get_placeholder") for f in fields):
        raise TypeError(f"{model.__name__} has a column whose value needs its own SQL: use bulk_create")
    return fields


def _is_auto_time(field: Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _prepared(fields: list[Field], columns: list[list], connection) -> list[list]:
    """Each column's values as the driver takes them; a column of one value is prepared once."""
    prepared = []
    for field, values in zip(fields, columns, strict=True):
        first = values[0]
        if values.count(first) == len(values):
            prepared.append([field.get_db_prep_save(first, connection)] * len(values))
        else:
            prepared.append([field.get_db_prep_save(value, connection) for value in values])
    return prepared


def _insert(model, fields: list[Field], columns: list[list], returning: bool = True) -> list:
    """Prepare the columns (a column of one value once) and INSERT them; the new pks, if asked
    for and the backend returns them."""
    # the wrapper itself, not the proxy: each attribute read through that is a lookup
    connection = connections[DEFAULT_DB_ALIAS]
    rows = list(zip(*_prepared(fields, columns, connection), strict=True))
    opts = model._meta
    qn = connection.ops.quote_name
    returning = returning and connection.features.can_return_rows_from_bulk_insert
    returning_sql = connection.ops.return_insert_columns([opts.pk])[0] if returning else ""
    head = f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fields)})"
    placeholders = ["%s"] * len(fields)
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    pks = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values_sql = connection.ops.bulk_insert_sql(fields, [placeholders] * len(chunk))
            cursor.execute(f"{head} {values_sql} {returning_sql}", [value for row in chunk for value in row])
            if returning:
                pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def instances_update(*, objs: list, fields: list[str], added: dict[str, list[int]] | None = None) -> None:
    """UPDATE `fields` (names) of saved instances of one model to the instances' values, each row
    by its primary key, in one statement per chunk: UPDATE … JOIN (VALUES …) on MariaDB,
    UPDATE … FROM (VALUES …) on SQLite 3.33+, `bulk_update` elsewhere. `added` maps a column to
    one number per instance that is added to the value stored (an expression: whatever another
    transaction stored, it moves on from there); the instances' own values of it are not used."""
    if not objs:
        return
    added = added or {}
    model = type(objs[0])
    connection = connections[DEFAULT_DB_ALIAS]
    if not _joins_a_values_table(connection):
        _update_by_orm(model, objs, fields, added)
        return
    opts = model._meta
    targets = [opts.get_field(name) for name in fields]
    adds = [opts.get_field(name) for name in added]
    # what the VALUES table holds per row: the key, the new values, the amounts to add
    columns = [[obj.pk for obj in objs]]
    columns += [[getattr(obj, field.attname) for obj in objs] for field in targets]
    columns += [list(amounts) for amounts in added.values()]
    prepared = _prepared([opts.pk, *targets, *adds], columns, connection)
    rows = list(zip(*prepared, strict=True))
    qn = connection.ops.quote_name
    table, pk = qn(opts.db_table), qn(opts.pk.column)
    names = [pk, *(qn(field.column) for field in targets), *(qn(f"add_{field.column}") for field in adds)]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    sets = [(qn(field.column), f"v.{qn(field.column)}") for field in targets]
    sets += [(qn(field.column), f"{table}.{qn(field.column)} + v.{qn(f'add_{field.column}')}") for field in adds]
    size = max(1, connection.ops.bulk_batch_size(names, rows))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values = f"v ({', '.join(names)}) AS (VALUES {', '.join([placeholder] * len(chunk))})"
            if connection.vendor == "mysql":
                # MariaDB takes no WITH before an UPDATE: the table is a derived one
                sql = (
                    f"UPDATE {table} JOIN (WITH {values} SELECT * FROM v) AS v ON {table}.{pk} = v.{pk} "
                    f"SET {', '.join(f'{table}.{column} = {value}' for column, value in sets)}"
                )
            else:
                sql = (
                    f"WITH {values} UPDATE {table} SET {', '.join(f'{column} = {value}' for column, value in sets)} "
                    f"FROM v WHERE {table}.{pk} = v.{pk}"
                )
            cursor.execute(sql, [value for row in chunk for value in row])


def _joins_a_values_table(connection) -> bool:
    # MySQL spells a table of values VALUES ROW(…), ROW(…): it takes bulk_update
    if connection.vendor == "mysql":
        return connection.mysql_is_mariadb
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version_info >= (3, 33)
    return False


def _update_by_orm(model, objs: list, fields: list[str], added: dict[str, list[int]]) -> None:
    opts = model._meta
    kept = {}
    for name, amounts in added.items():
        attname = opts.get_field(name).attname
        kept[attname] = [getattr(obj, attname) for obj in objs]
        for obj, amount in zip(objs, amounts, strict=True):
            setattr(obj, attname, F(attname) + amount)
    try:
        model._base_manager.bulk_update(objs, [*fields, *added])
    finally:
        for attname, values in kept.items():
            for obj, value in zip(objs, values, strict=True):
                setattr(obj, attname, value)
