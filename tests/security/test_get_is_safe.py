"""No admin page changes data on GET: every URL of the table, every worker button and every
action asked for by GET, as a superuser (who reaches them all), leaves every table as it was."""

from urllib.parse import urlencode

import pytest

from tests.security.access_table import ADMIN_ACTIONS, ADMIN_PAGES, OTHER_PAGES, SUPERUSER
from tests.security.walk import action_data, changelist_path, database_snapshot, snapshot_difference, url_fill

pytestmark = pytest.mark.django_db


def changes_of_gets(browser, paths) -> list[str]:
    before = database_snapshot()
    for path in paths:
        browser.get(path)
    if not snapshot_difference(before, database_snapshot()):
        return []
    # something changed: find the GETs that did, one at a time
    changed = []
    for path in paths:
        before = database_snapshot()
        browser.get(path)
        if difference := snapshot_difference(before, database_snapshot()):
            changed.append(f"GET {path} changed {difference}")
    return changed or ["the GETs changed data, none of them alone"]


def test_no_admin_page_changes_data_on_get(browser_of, objects):
    paths = [url_fill(template, objects) for template in ADMIN_PAGES]

    assert not (changed := changes_of_gets(browser_of(SUPERUSER), paths)), "\n".join(changed)


def test_no_admin_action_runs_on_get(browser_of, objects):
    paths = [
        f"{changelist_path(label)}?{urlencode(action_data(label, action, objects), doseq=True)}"
        for label, action in ADMIN_ACTIONS
    ]

    assert not (changed := changes_of_gets(browser_of(SUPERUSER), paths)), "\n".join(changed)


def test_no_page_outside_the_admin_changes_data_on_get(browser_of):
    assert not (changed := changes_of_gets(browser_of(SUPERUSER), list(OTHER_PAGES))), "\n".join(changed)
