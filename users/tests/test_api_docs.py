import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/schema/"
DOCS_URL = "/api/docs/"


def asset_urls(html):
    """Every URL the page loads through <script src> or <link href>."""
    return re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html) + re.findall(r"<link[^>]*\shref=\"([^\"]+)\"", html)


def test_schema_is_served_anonymously(api_client):
    response = api_client.get(SCHEMA_URL, {"format": "json"})

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_schema_documents_every_endpoint(api_client):
    paths = api_client.get(SCHEMA_URL, {"format": "json"}).json()["paths"]

    assert {
        "/api/auth/login/",
        "/api/auth/refresh/",
        "/api/auth/logout/",
        "/api/auth/logout-all/",
        "/api/auth/password-reset/",
        "/api/auth/password-reset/confirm/",
        "/api/users/",
        "/api/users/{id}/",
        "/api/users/me/",
        "/api/users/me/password/",
    } <= set(paths)


def test_schema_declares_the_bearer_jwt_scheme(api_client):
    schema = api_client.get(SCHEMA_URL, {"format": "json"}).json()

    scheme = schema["components"]["securitySchemes"]["jwtAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert {"jwtAuth": []} in schema["paths"]["/api/users/"]["get"]["security"]


def test_docs_page_is_served_anonymously(api_client):
    response = api_client.get(DOCS_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "swagger-ui" in response.content.decode()


def test_docs_page_loads_only_local_static_assets(api_client):
    html = api_client.get(DOCS_URL).content.decode()

    urls = asset_urls(html)
    assert urls
    assert all(url.startswith("/static/") for url in urls), urls
    assert not re.search(r"<(script|link)[^>]*(src|href)=\"(https?:)?//", html)


def test_docs_page_assets_exist_in_the_static_files(api_client):
    html = api_client.get(DOCS_URL).content.decode()

    for url in asset_urls(html):
        assert finders.find(url.removeprefix("/static/")), url
