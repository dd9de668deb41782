"""Every API route, with each method it allows, as every kind of user with its own access token,
against API_ROUTES; a route or method the table doesn't list fails the walk."""

import json

import pytest
from rest_framework.test import APIClient

from tests.security.access_table import API_KINDS, API_ROUTES
from tests.security.walk import rolled_back, route_of, url_fill, url_patterns
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

# the documentation of the API, in OTHER_PAGES
API_DOCUMENTATION = {"api/schema/", "api/docs/"}

# what an allowed request sends, so it succeeds; every other request sends an empty body
BODIES = {
    ("/api/users/", "POST"): {"username": "made-by-api", "email": "made-by-api@example.com"},
    ("/api/users/{users.user}/", "PATCH"): {"first_name": "Renamed"},
    ("/api/users/me/", "PATCH"): {"first_name": "Renamed"},
}


def allowed_methods(pattern) -> set[str]:
    """The methods a DRF route serves: its viewset actions, or its view's handlers; OPTIONS too."""
    view = pattern.callback
    handlers = (
        set(view.actions)
        if getattr(view, "actions", None)
        else {method for method in view.cls.http_method_names if hasattr(view.cls, method)}
    )
    return {method.upper() for method in handlers & set(view.cls.http_method_names) - {"head"}} | {"OPTIONS"}


def api_client_of(user) -> APIClient:
    client = APIClient()
    if user is not None:
        response = client.post(
            "/api/auth/login/", {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
        )
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def test_the_table_lists_every_api_route_and_method(objects):
    served = {
        (route, method)
        for route, pattern in url_patterns("api/").items()
        if route not in API_DOCUMENTATION
        for method in allowed_methods(pattern)
    }
    listed = {(route_of(url_fill(template, objects)), method) for template, method in API_ROUTES}

    assert served == listed


@pytest.mark.parametrize("kind", API_KINDS)
def test_api_routes_answer_each_kind_as_the_table_says(kind, people, objects):
    client = api_client_of(people[kind])
    column = API_KINDS.index(kind)
    wrong = []
    for (template, method), row in API_ROUTES.items():
        with rolled_back():
            body = json.dumps(BODIES.get((template, method), {})) if method in ("POST", "PATCH") else ""
            response = client.generic(method, url_fill(template, objects), body, content_type="application/json")
        if response.status_code != row[column]:
            wrong.append(f"{method} {template}: got {response.status_code}, the table says {row[column]}")
    assert not wrong, "\n".join(wrong)
