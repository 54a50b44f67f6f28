"""Which URLs an agency's webhooks may be sent to (server-side request forgery guard).

Outside the local stack a webhook URL must be ``https://`` and every address its host name
resolves to must be a public (global unicast) address: private (10/8, 172.16/12, 192.168/16,
IPv6 ULA fc00::/7), loopback, link-local (169.254/16 with the cloud metadata service,
fe80::/10), shared (100.64/10), multicast, unspecified and reserved addresses are refused,
IPv4 addresses inside IPv6 (``::ffff:10.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4) included.
Numeric host spellings (``http://2130706433/``, ``0x7f.1``) are caught because the check is
made on the resolved addresses. With ``allow_local`` (the local stack), ``http://`` and the
loopback addresses (``localhost``, 127.0.0.0/8, ::1) are allowed too; other non-public
addresses stay refused.

This checks a URL when ops set it; the address is not checked again at delivery time (a DNS
answer that changes afterwards is not caught here).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_CHARS = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookUrlError(ValueError):
    """The URL may not receive webhooks; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_problem(address: Address, *, allow_loopback: bool = False) -> str | None:
    """Why ``address`` may not receive webhooks, or None if it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        problem = address_problem(embedded, allow_loopback=allow_loopback)
        if problem is not None:
            return f"{problem} (inside {address})"
    if address.is_loopback:
        return None if allow_loopback else f"{address} is a loopback address"
    for test, what in ((address.is_unspecified, "unspecified"), (address.is_link_local, "link-local"),
                       (address.is_multicast, "multicast"), (address.is_reserved, "reserved"),
                       (address.is_private, "private")):
        if test:
            return f"{address} is a {what} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_webhook_url(url: str, *, allow_local: bool = False, resolver: Resolver | None = None) -> str:
    """Returns the URL if an agency's webhooks may go there; raises WebhookUrlError otherwise.
    ``resolver``: host name, port → addresses (default: the system's, :func:`resolve`)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise WebhookUrlError(f"a webhook URL has 1 to {MAX_URL_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise WebhookUrlError("a webhook URL contains no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlError(f"not a valid URL: {error}") from None
    schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in schemes:
        raise WebhookUrlError("a webhook URL must start with https://"
                              + (" or http:// (local stack)" if allow_local else
                                 " (http:// only on the local stack, with --local)"))
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("a webhook URL carries no user name or password")
    if parts.fragment:
        raise WebhookUrlError("a webhook URL has no #fragment")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("a webhook URL names a host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        if host.rstrip(".").lower() in ("localhost", "localhost.localdomain") and not allow_local:
            raise WebhookUrlError("localhost may receive webhooks only on the local stack (--local)")
        try:
            resolved = (resolver or resolve)(host, port)
        except (OSError, UnicodeError) as error:
            raise WebhookUrlError(f"cannot resolve {host}: {error}") from None
        if not resolved:
            raise WebhookUrlError(f"{host} resolves to no address")
        addresses = []
        for text in resolved:
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                raise WebhookUrlError(f"{host} resolves to {text!r}, not an IP address") from None
    for address in addresses:
        problem = address_problem(address, allow_loopback=allow_local)
        if problem is not None:
            if literal is None:
                shown, what = problem.split(" ", 1)
                problem = f"{host} resolves to {shown}, which {what}"
            raise WebhookUrlError(f"{problem}: webhooks go to public addresses only")
    return url
