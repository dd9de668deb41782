"""The outbox changelist filtered by status: newest first, read off outbox_status_idx (status, id)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pubsub.models import QueuePublishHistory

Status = QueuePublishHistory.Status
CHANGELIST = reverse("admin:pubsub_queuepublishhistory_changelist")

pytestmark = pytest.mark.django_db


def page_query(queries):
    """The query of the listed rows (whole rows, ordered), not a filter's choices."""
    return next(q["sql"] for q in queries if "error_msg" in q["sql"] and "ORDER BY" in q["sql"])


def test_status_filtered_changelist_lists_that_status_newest_first(admin_client, make_row):
    errors = [make_row(status=Status.ERROR) for _ in range(3)]
    make_row(status=Status.PUBLISHED)

    response = admin_client.get(CHANGELIST, {"status__exact": "error"})

    assert [row.pk for row in response.context["cl"].result_list] == [row.pk for row in reversed(errors)]


def test_status_filtered_changelist_orders_by_the_status_index_columns(admin_client, make_row):
    make_row(status=Status.ERROR)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(CHANGELIST, {"status__exact": "error"})

    order_by = page_query(queries).rsplit("ORDER BY", 1)[1]
    assert re.findall(r"[`\"](status|id)[`\"] (DESC|ASC)", order_by) == [("status", "DESC"), ("id", "DESC")]


def test_status_filter_is_a_closed_range_not_an_equality(admin_client, make_row):
    # an equality lets MariaDB drop status from the ORDER BY and walk PRIMARY instead
    make_row(status=Status.ERROR)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(CHANGELIST, {"status__exact": "error"})

    where = page_query(queries).split("WHERE", 1)[1].split("ORDER BY", 1)[0]
    assert re.search(r"[`\"]status[`\"] >= ", where) and re.search(r"[`\"]status[`\"] <= ", where)


def test_unfiltered_changelist_keeps_newest_first_by_id(admin_client, make_row):
    for status in (Status.ERROR, Status.PUBLISHED, Status.PENDING):
        make_row(status=status)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST)

    listed = [row.pk for row in response.context["cl"].result_list]
    assert listed == sorted(listed, reverse=True)
    assert "status" not in page_query(queries).rsplit("ORDER BY", 1)[1]


def test_status_filter_with_a_sorted_column_keeps_that_sort(admin_client, make_row):
    make_row(status=Status.ERROR, attempts=1)
    make_row(status=Status.ERROR, attempts=3)

    response = admin_client.get(CHANGELIST, {"status__exact": "error", "o": "5"})  # attempts ascending

    assert [row.attempts for row in response.context["cl"].result_list] == [1, 3]
