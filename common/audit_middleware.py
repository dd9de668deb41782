"""django-auditlog's middleware, with the caller's address found the way the API-hit log finds it.

auditlog believes the first X-Forwarded-For entry from anyone, so a client could write any address
into the audit trail. Here X-Forwarded-For counts only when it comes through IPWARE_TRUSTED_PROXIES,
and X-Forwarded-Port likewise."""

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings

from common.net import client_ip


class TrustedProxyAuditlogMiddleware(AuditlogMiddleware):
    @staticmethod
    def _get_remote_addr(request):
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_ip(
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
            trusted_proxies=list(settings.IPWARE_TRUSTED_PROXIES),
        )

    @staticmethod
    def _get_remote_port(request):
        if not settings.IPWARE_TRUSTED_PROXIES:
            return None
        return AuditlogMiddleware._get_remote_port(request)
