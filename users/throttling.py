"""The API's throttles, counting per client address by the project's one rule.

DRF's own throttles take the address from REMOTE_ADDR (NUM_PROXIES=0), which behind the reverse
proxies is a proxy's: every client would share one bucket, and ten logins a minute from anywhere
would lock everybody out. These believe X-Forwarded-For only from IPWARE_TRUSTED_PROXIES, as the
API-hit log and django-axes do (common.net.client_ip), so a client cannot forge a fresh
bucket per request either.
"""

from django.conf import settings
from rest_framework import throttling

from common.net import client_ip


class ClientAddressIdentMixin:
    def get_ident(self, request):
        meta = request.META
        return (
            client_ip(
                remote_addr=meta.get("REMOTE_ADDR") or "",
                forwarded_for=meta.get("HTTP_X_FORWARDED_FOR") or "",
                trusted_proxies=list(settings.IPWARE_TRUSTED_PROXIES),
            )
            or meta.get("REMOTE_ADDR")
            or ""
        )


class ScopedRateThrottle(ClientAddressIdentMixin, throttling.ScopedRateThrottle):
    pass


class PasswordCheckThrottle(ClientAddressIdentMixin, throttling.SimpleRateThrottle):
    """Requests that ask to check the caller's own password (old_password, current_password),
    counted per account: a stolen access token must not become a password oracle, from one
    address or from many. Other requests are not counted."""

    scope = "password_check"
    password_fields = ("old_password", "current_password")

    def get_cache_key(self, request, view):
        if request.method not in ("POST", "PUT", "PATCH") or not request.user.is_authenticated:
            return None
        data = request.data
        if not hasattr(data, "keys") or not any(field in data for field in self.password_fields):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
