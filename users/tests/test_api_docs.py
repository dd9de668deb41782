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


def schema_operations(api_client):
    paths = api_client.get(SCHEMA_URL, {"format": "json"}).json()["paths"]
    return {
        (method.upper(), path): operation
        for path, operations in paths.items()
        for method, operation in operations.items()
    }


def test_schema_gives_every_error_response_the_error_body(api_client):
    schema = api_client.get(SCHEMA_URL, {"format": "json"}).json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    expected = "ValidationError" if code == "400" else "Error"
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == f"#/components/schemas/{expected}", (method, path, code)
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_schema_documents_the_errors_every_operation_can_give(api_client):
    for key, operation in schema_operations(api_client).items():
        assert "406" in operation["responses"], key
        assert "500" not in operation["responses"], key


def test_schema_documents_401_where_credentials_are_read(api_client):
    operations = schema_operations(api_client)

    assert "401" in operations[("GET", "/api/users/me/")]["responses"]
    assert "401" in operations[("POST", "/api/auth/login/")]["responses"]
    assert "401" not in operations[("POST", "/api/auth/password-reset/")]["responses"]


def test_schema_documents_403_only_where_a_permission_can_refuse_a_signed_in_caller(api_client):
    operations = schema_operations(api_client)

    assert "403" in operations[("DELETE", "/api/users/{id}/")]["responses"]
    assert "403" not in operations[("PATCH", "/api/users/me/")]["responses"]


def test_schema_documents_404_for_unknown_ids_and_pages(api_client):
    operations = schema_operations(api_client)

    assert "404" in operations[("GET", "/api/users/{id}/")]["responses"]
    assert "404" in operations[("GET", "/api/users/")]["responses"]
    assert "404" not in operations[("GET", "/api/users/me/")]["responses"]


def test_schema_documents_400_and_415_where_a_body_is_read(api_client):
    operations = schema_operations(api_client)

    assert {"400", "415"} <= set(operations[("POST", "/api/users/")]["responses"])
    assert not {"400", "415"} & set(operations[("POST", "/api/auth/logout-all/")]["responses"])


def test_schema_documents_429_and_retry_after_on_throttled_operations(api_client):
    operations = schema_operations(api_client)

    for key in [("POST", "/api/auth/login/"), ("POST", "/api/auth/password-reset/")]:
        assert "Retry-After" in operations[key]["responses"]["429"]["headers"], key
    assert "429" not in operations[("GET", "/api/users/")]["responses"]
