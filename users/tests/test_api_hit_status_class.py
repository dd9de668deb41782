"""The API hit's status class: stored by the database for every hit, and what the admin's
status filter reads (through its index, newest first)."""

import pytest
from django.contrib.admin.views.main import ChangeList
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from users.api_hits import ApiHit, api_hits_write
from users.models import UserAPIHitLog

pytestmark = pytest.mark.django_db
HITS = reverse("admin:users_userapihitlog_changelist")


def api_hit(status_code: int, n: int = 0) -> ApiHit:
    return ApiHit(
        method="GET",
        path=f"/api/things/{n}/",
        status_code=status_code,
        duration_ms=1.0,
        timestamp=timezone.now(),
        request_id=f"req-{n}",
        user_id=None,
        remote_addr="203.0.113.7",
        forwarded_for="",
        user_agent="curl/8.5.0",
    )


def test_status_class_is_stored_for_each_written_hit():
    api_hits_write(hits=[api_hit(code, n) for n, code in enumerate((200, 204, 302, 404, 499, 500, 503))])

    stored = UserAPIHitLog.objects.order_by("id").values_list("status_code", "status_class")

    assert list(stored) == [(200, 2), (204, 2), (302, 3), (404, 4), (499, 4), (500, 5), (503, 5)]


def test_status_class_follows_a_changed_status_code():
    hit = UserAPIHitLog.objects.create(
        method="GET", api_name="/api/x/", status_code=200, duration_ms=1.0, timestamp=timezone.now()
    )
    UserAPIHitLog.objects.filter(pk=hit.pk).update(status_code=502)

    assert UserAPIHitLog.objects.get(pk=hit.pk).status_class == 5


def test_status_class_filter_lists_that_class_newest_first(admin_client):
    api_hits_write(hits=[api_hit(code, n) for n, code in enumerate((500, 200, 503, 404, 599))])

    response = admin_client.get(HITS, {"status_class": "5"})

    assert [h.status_code for h in response.context["cl"].result_list] == [599, 503, 500]


def test_status_class_filter_is_an_equality_on_the_stored_class(admin_client):
    api_hits_write(hits=[api_hit(500)])

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(HITS, {"status_class": "5"})

    assert isinstance(response.context["cl"], ChangeList)
    page_query = next(q["sql"] for q in queries if "ORDER BY" in q["sql"] and "request_id" in q["sql"])
    assert "status_class" in page_query
    assert "status_code" not in page_query.split("WHERE", 1)[1].split("ORDER BY", 1)[0]
