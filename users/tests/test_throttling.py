import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/api/auth/login/"
RESET_URL = "/api/auth/password-reset/"
CONFIRM_URL = "/api/auth/password-reset/confirm/"


@pytest.fixture
def low_rates(monkeypatch):
    # DRF read DEFAULT_THROTTLE_RATES into this dict at import time, so override it in place
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "login", "3/min")
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "password_reset", "2/min")
    cache.clear()
    yield
    cache.clear()


def post_login(password):
    return APIClient().post(LOGIN_URL, {"username": "someone", "password": password}, format="json")


def test_login_is_throttled_after_the_allowed_attempts(low_rates):
    statuses = [post_login("wrong").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_throttled_login_refuses_even_the_right_password(low_rates, student):
    for _ in range(3):
        post_login("wrong")

    response = APIClient().post(LOGIN_URL, {"username": student.username, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 429
    assert "access" not in response.json()


def test_throttled_response_says_when_to_retry(low_rates):
    for _ in range(3):
        post_login("wrong")

    response = post_login("wrong")

    assert int(response["Retry-After"]) > 0
    assert "detail" in response.json()


def test_password_reset_request_is_throttled(low_rates):
    statuses = [APIClient().post(RESET_URL, {"email": "a@example.com"}, format="json").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_password_reset_confirm_is_throttled(low_rates):
    data = {"uid": "MQ", "token": "guess", "new_password": "Fresh-Quartz-Meadow-42"}

    statuses = [APIClient().post(CONFIRM_URL, data, format="json").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_throttling_is_per_client_address(low_rates):
    for _ in range(3):
        post_login("wrong")

    other = APIClient(REMOTE_ADDR="10.1.2.3").post(LOGIN_URL, {"username": "x", "password": "y"}, format="json")

    assert other.status_code == 401


PROXY = "10.0.0.10"


def post_login_via(forwarded_for, remote_addr=PROXY):
    client = APIClient(REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client.post(LOGIN_URL, {"username": "someone", "password": "wrong"}, format="json")


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_login_bucket(low_rates, settings):
    settings.IPWARE_TRUSTED_PROXIES = [PROXY]
    for _ in range(3):
        post_login_via("198.51.100.1")

    assert post_login_via("198.51.100.1").status_code == 429
    assert post_login_via("198.51.100.2").status_code == 401


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_password_reset_bucket(low_rates, settings):
    settings.IPWARE_TRUSTED_PROXIES = [PROXY]

    def reset_via(forwarded_for):
        client = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
        return client.post(RESET_URL, {"email": "a@example.com"}, format="json").status_code

    assert [reset_via("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert reset_via("198.51.100.2") == 200


def test_without_a_trusted_proxy_a_forged_forwarded_for_shares_the_peers_bucket(low_rates, settings):
    settings.IPWARE_TRUSTED_PROXIES = []

    statuses = [post_login_via(f"198.51.100.{n}", remote_addr="203.0.113.7").status_code for n in range(1, 5)]

    assert statuses == [401, 401, 401, 429]


def test_a_forwarded_for_from_an_untrusted_peer_shares_that_peers_bucket(low_rates, settings):
    settings.IPWARE_TRUSTED_PROXIES = [PROXY]

    statuses = [post_login_via(f"198.51.100.{n}", remote_addr="203.0.113.7").status_code for n in range(1, 5)]

    assert statuses == [401, 401, 401, 429]


def test_every_api_throttle_identifies_clients_by_the_trusted_proxy_rule():
    from django.urls import URLPattern, URLResolver, get_resolver

    from users.throttling import ClientAddressIdentMixin

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    throttles = {throttle for view in views(get_resolver().url_patterns) for throttle in view().get_throttles()}

    assert throttles
    assert all(isinstance(throttle, ClientAddressIdentMixin) for throttle in throttles), throttles
