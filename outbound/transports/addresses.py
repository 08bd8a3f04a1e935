"""Which network addresses outbound requests may reach: only globally routable ones.

``ipaddress``'s ``is_global`` is the ground, with what it misses (Python 3.11)
made explicit: IPv6 forms that carry an IPv4 address are judged by that IPv4
address (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``), and forms that can reach anything (IPv4-compatible ``::/96``,
local-use NAT64 ``64:ff9b:1::/48``, Teredo ``2001::/32``) are refused whole, as
are multicast, unspecified and reserved addresses.

``resolve`` looks a host up once and returns only vetted addresses: the caller
connects to one of those, never to a name resolved again (``http``).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from django.conf import settings

from outbound.transports.base import TransportError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _ipv4_refusal(address: ipaddress.IPv4Address) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "private or shared"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` must not be called (a few words), or None when it is public."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_refusal(address)
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    embedded: ipaddress.IPv4Address | None = None
    form = ""
    if address.ipv4_mapped is not None:
        embedded, form = address.ipv4_mapped, "IPv4-mapped"
    elif address in _IPV4_COMPATIBLE:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return f"IPv4-compatible form of {embedded} (deprecated, not routable)"
    elif address in _NAT64_LOCAL:
        return "local-use NAT64"
    elif address in _NAT64:
        embedded, form = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    elif address.sixtofour is not None:
        embedded, form = address.sixtofour, "6to4"
    elif address.teredo is not None:
        return "Teredo tunnel"
    if embedded is not None:
        why = _ipv4_refusal(embedded)
        return f"{form} form of {embedded}, {why}" if why else None
    if address.is_link_local or address.is_site_local:
        return "link-local"
    if not address.is_global:
        return "private or reserved"
    return None


def check_address(address: IPAddress, *, host: str) -> None:
    """Raise ``TransportError(permanent=True)`` for an address we must not call
    (whatever ALLOW_PRIVATE_WEBHOOK_TARGETS says: the caller decides)."""
    why = refusal(address)
    if why is None:
        return
    try:
        literal = ipaddress.ip_address(host) == address
    except ValueError:
        literal = False
    named = f"{host} is" if literal else f"{host} resolves to"
    raise TransportError(
        f"{named} a non-public address ({address}: {why}); refused.", permanent=True
    )


Resolved = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


def resolve(host: str, port: int) -> list[Resolved]:
    """Look ``host`` up once; every address it has must be public (unless
    ALLOW_PRIVATE_WEBHOOK_TARGETS), else the lot is refused (a name with one
    private address among public ones is not a name to trust). The answer is what
    to connect to."""
    try:
        infos: list[Resolved] = list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"Cannot resolve {host}: {exc}") from None
    if not infos:
        raise TransportError(f"Cannot resolve {host}: no address.")
    if not settings.ALLOW_PRIVATE_WEBHOOK_TARGETS:
        for info in infos:
            check_address(ipaddress.ip_address(str(info[4][0]).split("%")[0]), host=host)
    return infos
