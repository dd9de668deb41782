"""Every state-changing admin request needs the CSRF token: a superuser's browser POSTing to any
admin URL, action, button, the logout or the import confirm without it is refused and changes
nothing. The API takes no session: a logged-in browser's cookie writes nothing there."""

import pytest

from tests.security.access_table import ADMIN_ACTIONS, ADMIN_PAGES, ANONYMOUS, SUPERUSER
from tests.security.walk import action_data, changelist_path, database_snapshot, snapshot_difference, url_fill

pytestmark = pytest.mark.django_db


def refused_without_token(browser, requests) -> list[str]:
    """[(path, data)] POSTed without the token: what was not refused, or changed something."""
    before = database_snapshot()
    wrong = [
        f"POST {path}: answered {status}"
        for path, data in requests
        if (status := browser.post(path, data).status_code) != 403
    ]
    if changed := snapshot_difference(before, database_snapshot()):
        wrong.append(f"the POSTs changed {changed}")
    return wrong


def test_every_admin_url_refuses_a_post_without_the_csrf_token(browser_of, objects):
    requests = [(url_fill(template, objects), {}) for template in ADMIN_PAGES]

    assert not (wrong := refused_without_token(browser_of(SUPERUSER), requests)), "\n".join(wrong)


def test_every_admin_action_refuses_a_post_without_the_csrf_token(browser_of, objects):
    requests = [(changelist_path(label), action_data(label, action, objects)) for label, action in ADMIN_ACTIONS]

    assert not (wrong := refused_without_token(browser_of(SUPERUSER), requests)), "\n".join(wrong)


def test_the_admin_login_refuses_a_post_without_the_csrf_token(browser_of, people):
    requests = [("/admin/login/", {"username": people[SUPERUSER].username, "password": "anything"})]

    assert not (wrong := refused_without_token(browser_of(ANONYMOUS), requests)), "\n".join(wrong)


def test_the_api_ignores_an_admin_session(browser_of, people):
    browser = browser_of(SUPERUSER)
    before = database_snapshot()

    created = browser.post(
        "/api/users/", {"username": "via-session", "email": "s@example.com"}, content_type="application/json"
    )
    revoked = browser.post("/api/auth/logout-all/")

    assert (created.status_code, revoked.status_code) == (401, 401)
    assert snapshot_difference(before, database_snapshot()) == ["users.UserAPIHitLog"]
