"""The audit trail records the caller's real address: X-Forwarded-For only from a trusted proxy."""

import pytest
from auditlog.models import LogEntry
from django.test import Client

from users.tests.factories import UserFactory, UserManagerFactory
from users.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db

SPOOFED = "198.51.100.66"


def _patch_user_with_forwarded_for(forwarded_for: str) -> LogEntry:
    staff = UserManagerFactory()
    target = UserFactory()
    response = Client().patch(
        f"/api/users/{target.pk}/",
        {"first_name": "Audited"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(staff)['access']}",
        HTTP_X_FORWARDED_FOR=forwarded_for,
        REMOTE_ADDR="10.0.0.5",
    )
    assert response.status_code == 200, response.content
    return LogEntry.objects.get_for_object(target).filter(action=LogEntry.Action.UPDATE).latest("id")


def test_a_client_cannot_write_its_own_address_into_the_audit_trail(settings):
    settings.IPWARE_TRUSTED_PROXIES = []

    entry = _patch_user_with_forwarded_for(SPOOFED)

    assert entry.remote_addr == "10.0.0.5"


def test_the_address_a_trusted_proxy_forwards_is_recorded(settings):
    settings.IPWARE_TRUSTED_PROXIES = ["10.0.0.5"]

    entry = _patch_user_with_forwarded_for(SPOOFED)

    assert entry.remote_addr == SPOOFED
