"""Every action of every ModelAdmin, run through its changelist by every kind of user, with a
valid CSRF token: it runs for the kinds ADMIN_ACTIONS names, and changes nothing for the others."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from tests.security.access_table import ADMIN_ACTIONS, ADMIN_KINDS, SUPERUSER
from tests.security.walk import action_data, changelist_path, database_snapshot, rolled_back, snapshot_difference

pytestmark = pytest.mark.django_db


def admin_actions(superuser) -> set[tuple[str, str]]:
    """(model label, action name) of every action a superuser is offered."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    return {
        (model._meta.label_lower, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
    }


def test_the_table_lists_every_admin_action(people):
    assert admin_actions(people[SUPERUSER]) == set(ADMIN_ACTIONS)


@pytest.mark.parametrize("kind", ADMIN_KINDS)
def test_admin_actions_run_only_for_the_kinds_the_table_names(kind, browser_of, objects):
    browser = browser_of(kind)
    before = database_snapshot()
    wrong = []
    for (label, action), allowed in ADMIN_ACTIONS.items():
        with rolled_back():
            response = browser.post_with_token(changelist_path(label), action_data(label, action, objects))
            changed = snapshot_difference(before, database_snapshot())
        if response.status_code >= 500 or bool(changed) != (kind in allowed):
            wrong.append(f"{label} {action}: answered {response.status_code}, changed {changed or 'nothing'}")
    assert not wrong, "\n".join(wrong)
