import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users.tests.factories import (
    DEFAULT_PASSWORD,
    AdminTypeUserFactory,
    SuperuserFactory,
    UserFactory,
    UserManagerFactory,
)

LOGIN_URL = "/api/auth/login/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # throttle counters live in the (process-wide) cache; no test should inherit another's
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def student(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    """Staff who manage users (the users model permissions)."""
    return UserManagerFactory()


@pytest.fixture
def admin_type_user(db):
    return AdminTypeUserFactory()


@pytest.fixture
def superuser(db):
    return SuperuserFactory()


@pytest.fixture
def login(db):
    """Log `user` in through the API and return the response body ({access, refresh, user})."""

    def _login(user, password=DEFAULT_PASSWORD):
        response = APIClient().post(LOGIN_URL, {"username": user.username, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return _login


@pytest.fixture
def client_for(login):
    """An APIClient logged in as `user` through POST /api/auth/login/; its tokens are on `.tokens`."""

    def _client_for(user, password=DEFAULT_PASSWORD):
        tokens = login(user, password)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        client.tokens = tokens
        return client

    return _client_for


@pytest.fixture
def bearer():
    """An APIClient that sends the given access token."""

    def _bearer(access):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return _bearer


@pytest.fixture
def staff_client(client_for, staff_user):
    return client_for(staff_user)


@pytest.fixture
def superuser_client(client_for, superuser):
    return client_for(superuser)
