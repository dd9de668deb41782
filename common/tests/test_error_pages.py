"""With DEBUG off, errors say what happened and nothing more: no traceback, no exception text."""

import pytest
from django.test import Client

from users.tests.factories import UserManagerFactory
from users.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db

SECRET_DETAIL = "db-password-is-hunter2"


def explode(*args, **kwargs):
    """A failure whose text must never reach the client."""
    raise RuntimeError(SECRET_DETAIL)


@pytest.fixture
def broken_users_list(monkeypatch):
    monkeypatch.setattr("users.views.users.UserViewSet.list", explode)


@pytest.fixture
def client_no_raise():
    client = Client()
    client.raise_request_exception = False
    return client


def _bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_pair_for_user(user)['access']}"}


def test_an_api_500_is_json_without_the_exception(settings, broken_users_list, client_no_raise):
    settings.DEBUG = False
    user = UserManagerFactory()

    response = client_no_raise.get("/api/users/", **_bearer(user))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error. The error has been logged."}
    assert SECRET_DETAIL not in response.content.decode()


def test_an_unknown_api_path_is_a_json_404(settings, client):
    settings.DEBUG = False

    response = client.get("/api/no-such-endpoint/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_a_plain_404_without_the_url_list(settings, client):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found (404)" in body
    assert "urlpatterns" not in body and "api/schema/" not in body


def test_a_page_500_is_the_plain_template(settings, client_no_raise, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setattr("ops_admin.health.JsonResponse", explode)

    response = client_no_raise.get("/healthz")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Server error (500)" in body
    assert SECRET_DETAIL not in body and "Traceback" not in body
