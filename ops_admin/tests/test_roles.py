"""The role matrix: who sees which page and which action, through the admin's real URLs."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from ops_admin.roles import AUDITOR, OPS, ROLE_PERMISSIONS, SUPPORT

pytestmark = pytest.mark.django_db

KINDS = (None, "staff", AUDITOR, SUPPORT, OPS, "superuser")
VIEWERS = {AUDITOR, SUPPORT, OPS, "superuser"}

PAGES = {
    # changelist url name: kinds that may open it
    "users_user": VIEWERS,
    "users_userapihitlog": VIEWERS,
    "users_conflictingusersynclog": VIEWERS,
    "pubsub_queuepublishhistory": VIEWERS,
    "pubsub_workerheartbeat": VIEWERS,
    "token_blacklist_outstandingtoken": VIEWERS,
    "token_blacklist_blacklistedtoken": VIEWERS,
    "auditlog_logentry": VIEWERS,
    "background_task_task": VIEWERS,
    "background_task_completedtask": VIEWERS,
    "axes_accessattempt": VIEWERS,
    "axes_accessfailurelog": VIEWERS,
    "axes_accesslog": VIEWERS,
    "auth_group": {"superuser"},
}

ACTIONS = {
    # (changelist, action): kinds that see and may run it
    ("pubsub_queuepublishhistory", "retry_messages"): {SUPPORT, OPS, "superuser"},
    ("pubsub_queuepublishhistory", "expire_messages"): {SUPPORT, OPS, "superuser"},
    ("users_conflictingusersynclog", "apply_again"): {SUPPORT, OPS, "superuser"},
    ("users_conflictingusersynclog", "mark_resolved"): {SUPPORT, OPS, "superuser"},
    ("token_blacklist_outstandingtoken", "blacklist_selected"): {OPS, "superuser"},
    ("users_user", "revoke_tokens"): {OPS, "superuser"},
    ("background_task_task", "run_now"): {OPS, "superuser"},
    ("axes_accessattempt", "unlock_selected"): {OPS, "superuser"},
}

BUTTONS = {
    # button element id on a changelist: kinds that see it
    ("pubsub_queuepublishhistory", "publish-now"): {SUPPORT, OPS, "superuser"},
    ("token_blacklist_outstandingtoken", "flush-expired-tokens"): {OPS, "superuser"},
}


def test_each_role_group_holds_exactly_its_table_permissions(roles):
    for name, wanted in ROLE_PERMISSIONS.items():
        held = set(Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename"))
        assert held == set(wanted)


def test_each_role_includes_the_powers_of_the_one_below():
    assert set(ROLE_PERMISSIONS[AUDITOR]) < set(ROLE_PERMISSIONS[SUPPORT]) < set(ROLE_PERMISSIONS[OPS])


def test_the_auditor_holds_no_permission_but_viewing():
    assert all(codename.startswith("view_") for _, codename in ROLE_PERMISSIONS[AUDITOR])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_access(client_as, kind, page):
    response = client_as(kind).get(reverse(f"admin:{page}_changelist"))

    if kind is None:
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    elif kind in PAGES[page]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("kind", sorted(VIEWERS))
@pytest.mark.parametrize(("page", "action"), sorted(ACTIONS))
def test_action_offered_only_to_its_roles(client_as, kind, page, action):
    content = client_as(kind).get(reverse(f"admin:{page}_changelist")).content.decode()

    assert (f'value="{action}"' in content) == (kind in ACTIONS[(page, action)])


@pytest.mark.parametrize("kind", sorted(VIEWERS))
@pytest.mark.parametrize(("page", "button"), sorted(BUTTONS))
def test_button_shown_only_to_its_roles(client_as, kind, page, button):
    content = client_as(kind).get(reverse(f"admin:{page}_changelist")).content.decode()

    assert (f'id="{button}"' in content) == (kind in BUTTONS[(page, button)])


@pytest.mark.parametrize("kind", [AUDITOR, SUPPORT, OPS])
def test_no_role_can_open_the_groups_or_privilege_fields(client_as, kind):
    client = client_as(kind)
    response = client.get(reverse("admin:auth_group_add"))

    assert response.status_code == 403
