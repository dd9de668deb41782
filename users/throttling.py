"""The API's throttles, counting per client address by the project's one rule.

DRF's own throttles take the address from REMOTE_ADDR (NUM_PROXIES=0), which behind the reverse
proxies is a proxy's: every client would share one bucket, and ten logins a minute from anywhere
would lock everybody out. These believe X-Forwarded-For only from IPWARE_TRUSTED_PROXIES, as the
API-hit log and django-axes do (users.api_hits.client_ip), so a client cannot forge a fresh
bucket per request either.
"""

from django.conf import settings
from rest_framework import throttling

from users.api_hits import client_ip


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
