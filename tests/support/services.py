"""How a test that needs a service reacts when the service is missing: it skips on a
developer's machine, and fails in CI, which sets REQUIRE_SERVICES."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")


def service_missing(reason: str):
    """Fail when REQUIRE_SERVICES is set, otherwise skip."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)  # only reached without REQUIRE_SERVICES
