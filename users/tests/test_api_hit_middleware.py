"""The API-hit middleware through the real stack: what each request leaves in UserAPIHitLog."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework.test import APIClient

from users.models import UserAPIHitLog

ME_URL = "/api/users/me/"
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
CHROME_ON_SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36"
)
FIREFOX_ON_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"

pytestmark = pytest.mark.django_db


def hit_for(path: str) -> UserAPIHitLog:
    return UserAPIHitLog.objects.filter(api_name=path).latest("id")


def test_authenticated_request_is_logged_with_its_user(client_for, student):
    client_for(student).get(ME_URL)

    hit = hit_for(ME_URL)
    assert (hit.user, hit.method, hit.status_code) == (student, "GET", 200)


def test_hit_records_duration_timestamp_and_server_address(client_for, student):
    client_for(student).get(ME_URL)

    hit = hit_for(ME_URL)
    assert hit.duration_ms > 0
    assert hit.timestamp is not None
    assert hit.internal_ip


@pytest.mark.parametrize(
    ("user_agent", "browser", "os_name", "device"),
    [
        (CHROME_ON_WINDOWS, "Chrome", "Windows", "Other"),
        (SAFARI_ON_IPHONE, "Mobile Safari", "iOS", "iPhone"),
        (CHROME_ON_SAMSUNG, "Chrome Mobile", "Android", "Samsung SM-S918B"),
        (FIREFOX_ON_UBUNTU, "Firefox", "Ubuntu", "Other"),
    ],
)
def test_browser_os_and_device_come_from_the_user_agent(client_for, student, user_agent, browser, os_name, device):
    client_for(student).get(ME_URL, HTTP_USER_AGENT=user_agent)

    hit = hit_for(ME_URL)
    assert (hit.browser_name, hit.os_name, hit.device, hit.user_agent) == (browser, os_name, device, user_agent)


def test_anonymous_request_is_logged_without_a_user(api_client):
    api_client.get(ME_URL)

    hit = hit_for(ME_URL)
    assert (hit.user, hit.status_code) == (None, 401)


def test_failed_login_is_logged_without_the_password(api_client, student):
    api_client.post("/api/auth/login/", {"username": student.username, "password": "Wrong-Guess-123"}, format="json")

    hit = hit_for("/api/auth/login/")
    assert (hit.user, hit.method, hit.status_code) == (None, "POST", 401)
    assert "Wrong-Guess-123" not in repr(list(UserAPIHitLog.objects.values()))


def test_garbage_bearer_token_is_a_401_and_an_anonymous_hit(bearer):
    response = bearer("not.a.jwt").get(ME_URL)

    assert response.status_code == 401
    assert hit_for(ME_URL).user is None


def test_authorization_header_is_never_stored(client_for, student):
    client = client_for(student)
    client.get(ME_URL)

    stored = repr(list(UserAPIHitLog.objects.values()))
    assert client.tokens["access"] not in stored
    assert client.tokens["access"][:40] not in stored


def test_query_string_is_not_stored(client_for, student):
    client_for(student).get(ME_URL, {"secret": "s3cr3t-value"})

    assert hit_for(ME_URL).api_name == ME_URL
    assert "s3cr3t-value" not in repr(list(UserAPIHitLog.objects.values()))


def test_valid_token_names_the_user_where_the_view_did_not_authenticate(login, student):
    access = login(student)["access"]

    APIClient().get("/api/no-such-endpoint/", HTTP_AUTHORIZATION=f"Bearer {access}")

    hit = hit_for("/api/no-such-endpoint/")
    assert (hit.user, hit.status_code) == (student, 404)


def test_revoked_token_does_not_name_the_user(login, student):
    from users.services.tokens import tokens_revoke_for_user

    access = login(student)["access"]
    tokens_revoke_for_user(user=student)

    APIClient().get("/api/no-such-endpoint/", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert hit_for("/api/no-such-endpoint/").user is None


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/healthz", "/metrics", "/admin/login/"])
def test_excluded_and_unprefixed_paths_are_not_logged(client, path):
    client.get(path)

    assert not UserAPIHitLog.objects.filter(api_name=path).exists()


def test_exclusions_come_from_settings(api_client, settings):
    settings.API_HIT_LOG_EXCLUDE = [r"^/api/users/"]

    api_client.get(ME_URL)

    assert not UserAPIHitLog.objects.exists()


def test_prefixes_come_from_settings(client, settings):
    settings.API_HIT_LOG_PREFIXES = ["/admin/"]

    client.get("/admin/login/")

    assert hit_for("/admin/login/").status_code == 200


def test_external_ip_is_the_peer_when_no_proxy_is_trusted(api_client):
    api_client.get(ME_URL, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.23")

    assert hit_for(ME_URL).external_ip == "203.0.113.7"


def test_external_ip_is_the_forwarded_client_behind_a_trusted_proxy(api_client, settings):
    settings.IPWARE_TRUSTED_PROXIES = ["10.0.0.0/8"]

    api_client.get(ME_URL, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.23")

    assert hit_for(ME_URL).external_ip == "198.51.100.23"


def test_forwarded_for_from_an_untrusted_peer_is_not_believed(api_client, settings):
    settings.IPWARE_TRUSTED_PROXIES = ["10.0.0.0/8"]

    # the caller bypasses the proxy and forges a chain that ends with a trusted address
    api_client.get(ME_URL, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.23, 10.1.2.3")

    assert hit_for(ME_URL).external_ip == "203.0.113.7"


def test_hit_carries_the_request_id_sent_back_to_the_caller(api_client):
    response = api_client.get(ME_URL)

    assert response["X-Request-ID"]
    assert hit_for(ME_URL).request_id == response["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept(api_client):
    response = api_client.get(ME_URL, HTTP_X_REQUEST_ID="req-2026.11:abc_1")

    assert response["X-Request-ID"] == "req-2026.11:abc_1"


@pytest.mark.parametrize("sent", ["two words", "line\nbreak", "x" * 65, "<script>"])
def test_an_unsafe_incoming_request_id_is_replaced(api_client, sent):
    response = api_client.get(ME_URL, HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32


def test_paths_outside_the_api_get_a_request_id_too(client):
    assert client.get("/healthz")["X-Request-ID"]


def test_no_hit_is_recorded_when_logging_is_disabled(api_client, settings):
    settings.API_HIT_LOG_ENABLED = False  # read when the client builds its middleware chain

    api_client.get(ME_URL)

    assert not UserAPIHitLog.objects.exists()


def test_a_failing_hit_write_does_not_fail_the_request(api_client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("users.api_hits.api_hits_write", broken)

    assert api_client.get(ME_URL).status_code == 401


class TestUnderAsgi:
    """The async path of the middleware (what uvicorn runs)."""

    def test_authenticated_request_is_logged_with_its_user(self, login, student):
        access = login(student)["access"]

        response = async_to_sync(AsyncClient().get)(ME_URL, headers={"Authorization": f"Bearer {access}"})

        assert response.status_code == 200
        assert hit_for(ME_URL).user == student

    def test_anonymous_request_no_view_authenticated_is_logged(self, client, student):
        # a session cookie and no DRF view: the user is still the lazy session user afterwards
        client.force_login(student)
        async_client = AsyncClient()
        async_client.cookies = client.cookies

        response = async_to_sync(async_client.get)("/api/no-such-endpoint/")

        assert response.status_code == 404
        assert hit_for("/api/no-such-endpoint/").user == student

    def test_request_id_is_echoed(self):
        response = async_to_sync(AsyncClient().get)(ME_URL, headers={"X-Request-ID": "abc-123"})

        assert response["X-Request-ID"] == "abc-123"
        assert hit_for(ME_URL).request_id == "abc-123"


class TestAdmin:
    def test_hits_are_listed_read_only_for_staff(self, client, superuser, api_client):
        api_client.get(ME_URL)
        client.force_login(superuser)

        listing = client.get("/admin/users/userapihitlog/")
        page = client.get(f"/admin/users/userapihitlog/{UserAPIHitLog.objects.get().pk}/change/")

        assert listing.status_code == 200 and ME_URL.encode() in listing.content
        assert page.status_code == 200 and b"Save" not in page.content

    def test_hits_cannot_be_deleted_in_the_admin(self, client, superuser, api_client):
        api_client.get(ME_URL)
        client.force_login(superuser)

        response = client.post(f"/admin/users/userapihitlog/{UserAPIHitLog.objects.get().pk}/delete/", {"post": "yes"})

        assert response.status_code == 403
        assert UserAPIHitLog.objects.count() == 1
