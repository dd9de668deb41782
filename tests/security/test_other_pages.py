"""Health, readiness, metrics and the API's documentation, as every kind of user with its admin
session, against OTHER_PAGES; a route outside the admin and the API the table doesn't list fails."""

import pytest

from tests.security.access_table import ADMIN_KINDS, API_ROUTES, METRICS_WITH_TOKEN, OTHER_PAGES
from tests.security.walk import admin_outcome, route_of, url_fill, url_patterns

pytestmark = pytest.mark.django_db


def test_the_table_lists_every_route_outside_the_admin_and_the_api(objects):
    api_routes = {route_of(url_fill(template, objects)) for template, _ in API_ROUTES}
    others = set(url_patterns("")) - set(url_patterns("admin/")) - api_routes

    assert others == {route_of(path) for path in OTHER_PAGES}


@pytest.mark.parametrize("kind", ADMIN_KINDS)
def test_other_pages_answer_each_kind_as_the_table_says(kind, browser_of):
    browser = browser_of(kind)
    column = ADMIN_KINDS.index(kind)
    wrong = []
    for path, methods in OTHER_PAGES.items():
        for method, row in methods.items():
            response = browser.get(path) if method == "GET" else browser.post_with_token(path)
            if admin_outcome(response) != row[column]:
                wrong.append(f"{method} {path}: got {admin_outcome(response)!r}, the table says {row[column]!r}")
    assert not wrong, "\n".join(wrong)


def test_metrics_with_a_token_answer_no_session(browser_of, settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"

    answers = tuple(browser_of(kind).get("/metrics").status_code for kind in ADMIN_KINDS)

    assert answers == METRICS_WITH_TOKEN
