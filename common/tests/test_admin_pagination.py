import pytest

from common.admin import pagination as admin_pagination
from common.admin.pagination import EstimatedCountPaginator
from pubsub.models import QueuePublishHistory

pytestmark = pytest.mark.django_db


def make_rows(n, **fields):
    QueuePublishHistory.objects.bulk_create(
        [
            QueuePublishHistory(
                queue_name="q",
                exchange_name="x",
                deadletter_queue_name="q_DLQ",
                deadletter_exchange_name="x_DLX",
                message_body_json={},
                **fields,
            )
            for _ in range(n)
        ]
    )


def test_counts_exactly_below_the_limit():
    make_rows(7)

    assert EstimatedCountPaginator(QueuePublishHistory.objects.all(), 5).count == 7


def test_counts_a_filtered_list_exactly_below_the_limit():
    make_rows(3, status="error")
    make_rows(4)

    assert EstimatedCountPaginator(QueuePublishHistory.objects.filter(status="error"), 5).count == 3


def test_stops_counting_at_the_limit_when_there_is_no_estimate(monkeypatch):
    monkeypatch.setattr(admin_pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(admin_pagination, "_table_rows_estimate", lambda queryset: None)
    make_rows(9)

    assert EstimatedCountPaginator(QueuePublishHistory.objects.all(), 5).count == 6


def test_takes_the_table_statistics_past_the_limit(monkeypatch):
    monkeypatch.setattr(admin_pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(admin_pagination, "_table_rows_estimate", lambda queryset: 1_000_000)
    make_rows(9)

    assert EstimatedCountPaginator(QueuePublishHistory.objects.all(), 5).count == 1_000_000


@pytest.mark.mariadb
def test_uses_the_optimizer_estimate_for_big_filtered_lists_on_mariadb(monkeypatch):
    monkeypatch.setattr(admin_pagination, "EXACT_COUNT_LIMIT", 5)
    make_rows(50, status="error")
    make_rows(5)

    count = EstimatedCountPaginator(QueuePublishHistory.objects.filter(status="error"), 5).count

    assert count >= 6
