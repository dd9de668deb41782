"""Who is calling: the client's address, believing X-Forwarded-For only from the trusted proxies
(IPWARE_TRUSTED_PROXIES). The one rule of the API-hit log, the throttles, the login lockout and the
audit trail."""

import ipaddress
from types import SimpleNamespace

from ipware import get_client_ip


def ip_address_or_none(value: str | None) -> str | None:
    """`value` as a normalised IP address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def client_ip(*, remote_addr: str, forwarded_for: str, trusted_proxies: list[str]) -> str | None:
    """The caller's address. X-Forwarded-For is believed only when it comes from the trusted
    proxies: the connecting peer is appended as the last hop, so django-ipware accepts the chain
    only if the peer itself is the (last) trusted proxy. With no trusted proxy, the peer."""
    peer = remote_addr.strip()
    if not trusted_proxies or not forwarded_for or not peer:
        return ip_address_or_none(peer)
    chain = SimpleNamespace(META={"HTTP_X_FORWARDED_FOR": f"{forwarded_for}, {peer}"})
    ip, _routable = get_client_ip(
        chain, proxy_trusted_ips=trusted_proxies, request_header_order=["HTTP_X_FORWARDED_FOR"], strict=False
    )
    return ip_address_or_none(ip) or ip_address_or_none(peer)
