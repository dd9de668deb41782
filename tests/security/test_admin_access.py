"""Every admin URL, GET and POST, as every kind of user, against ADMIN_PAGES; a URL the table
doesn't list fails the walk, so the table stays complete."""

import pytest

from tests.security.access_table import ADMIN_KINDS, ADMIN_PAGES
from tests.security.walk import admin_outcome, rolled_back, route_of, url_fill, url_patterns

pytestmark = pytest.mark.django_db


def admin_walk(browser, objects) -> dict:
    """{(url template, method): outcome} for every entry of the table."""
    outcomes = {}
    for template, methods in ADMIN_PAGES.items():
        path = url_fill(template, objects)
        for method in methods:
            with rolled_back():
                if method == "GET":
                    response = browser.get(path)
                else:
                    response = browser.post_with_token(path)
            outcomes[template, method] = admin_outcome(response)
            if browser.user is not None and not browser.cookies["sessionid"].value:
                browser.login_again()  # the logout ended the session
    return outcomes


def test_the_table_lists_every_admin_url(objects):
    listed = {route_of(url_fill(template, objects)) for template in ADMIN_PAGES}

    assert set(url_patterns("admin/")) - listed == set()


def test_the_table_lists_each_admin_page_with_get_and_post():
    assert {template for template, methods in ADMIN_PAGES.items() if set(methods) != {"GET", "POST"}} == set()


@pytest.mark.parametrize("kind", ADMIN_KINDS)
def test_admin_urls_answer_each_kind_as_the_table_says(kind, browser_of, objects):
    column = ADMIN_KINDS.index(kind)

    outcomes = admin_walk(browser_of(kind), objects)

    wrong = [
        f"{method} {template}: got {outcome!r}, the table says {ADMIN_PAGES[template][method][column]!r}"
        for (template, method), outcome in outcomes.items()
        if outcome != ADMIN_PAGES[template][method][column]
    ]
    assert not wrong, "\n".join(wrong)
