"""The client's address, as the sign-in limits see it.

Behind a load balancer every request arrives from the balancer's address, and the client's
own address is in `X-Forwarded-For`. That header is whatever the sender wrote, so it is
believed only when the request comes from a configured proxy (PHONGHOP_TRUSTED_PROXIES,
addresses or networks, comma-separated): then the client is the right-most address in the
header that is not itself a trusted proxy. Otherwise the header is ignored, and one client
cannot pose as many to dodge the limits, nor as another to lock that one out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(value: str | None) -> tuple[Network, ...]:
    """The trusted proxies from their setting; ValueError names a malformed entry."""
    networks = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"PHONGHOP_TRUSTED_PROXIES: {part!r} is not an address "
                             "or network") from None
    return tuple(networks)


def _trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: Iterable[str],
                   proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or from `X-Forwarded-For` if the peer is a proxy.

    `forwarded_for` holds the values of every X-Forwarded-For header, in order.
    """
    address = peer or "?"
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [h.strip() for value in forwarded_for for h in value.split(",")]
    for hop in reversed(hops[-32:]):  # a bounded walk: no header makes us loop long
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a garbled chain: the last proxy is all we know
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address
