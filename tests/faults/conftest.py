import pytest


@pytest.fixture
def relay_env(deployment_a):
    """Deployment A's environment for producer_service under faults: small batches so a fault
    lands mid-batch, and short leases so rows a dead relay held come back within the test."""

    def env(**overrides) -> dict:
        settings = {"OUTBOX_BATCH_SIZE": 50, "OUTBOX_LEASE_SECS": 2, "OUTBOX_IDLE_POLL_MS": 50}
        return deployment_a.env(**{**settings, **overrides})

    return env
