"""Admin pagination for tables with millions of rows.

Django's changelist counts every matching row to paginate. On a big table that COUNT(*) costs
more than rendering the page. Here the count is exact up to EXACT_COUNT_LIMIT rows; beyond that
it is the database's estimate (table statistics when unfiltered, the optimizer's row estimate
when filtered), which is what a person scanning a log needs. Use with
`show_full_result_count = False`, which drops the second, unfiltered count.
"""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_COUNT_LIMIT = 10_000


def _table_rows_estimate(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "mysql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _filtered_rows_estimate(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "mysql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        columns = [column[0].lower() for column in cursor.description]
        plan = cursor.fetchall()
    if not plan or "rows" not in columns:
        return None
    return int(plan[0][columns.index("rows")] or 0)


def queryset_count_estimate(*, queryset, exact_limit: int | None = None) -> tuple[int, bool]:
    """(count, exact): exact up to `exact_limit` rows (EXACT_COUNT_LIMIT by default), never
    reading more index entries than that; beyond it the database's estimate, and `exact` False."""
    if exact_limit is None:
        exact_limit = EXACT_COUNT_LIMIT
    exact = queryset.order_by()[: exact_limit + 1].count()
    if exact <= exact_limit:
        return exact, True
    if not queryset.query.has_filters():
        estimate = _table_rows_estimate(queryset)
    else:
        estimate = _filtered_rows_estimate(queryset)
    return max(estimate or 0, exact), False


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        return queryset_count_estimate(queryset=queryset)[0]
