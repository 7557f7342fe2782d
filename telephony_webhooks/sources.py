"""Where a webhook came from, and whether its provider may call from there.

Some PBX protocols cannot prove an event is genuine (Zadarma signs only caller, DID and
start, so a captured signature validates a forged NOTIFY_END). For those the provider
documents the addresses it calls from; `PEREZVON_<PROVIDER>_ALLOWED_IPS` turns that into
an allow-list. Behind a reverse proxy the socket peer is the proxy: the client address is
then read from `PEREZVON_TRUSTED_PROXY_HEADER`, believed only when the peer is one of
`PEREZVON_TRUSTED_PROXIES`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from telephony_webhooks.context import WebContext

Network = IPv4Network | IPv6Network


@functools.lru_cache(maxsize=64)
def networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(item.strip(), strict=False) for item in items)


def parse_address(text: str | None) -> IPv4Address | IPv6Address | None:
    """The IP address in `text` (`[…]` allowed; IPv4-mapped IPv6 as IPv4), None if none."""
    if not text:
        return None
    try:
        address = ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(address: IPv4Address | IPv6Address, allowed: tuple[Network, ...]) -> bool:
    """Whether the address lies in one of the networks."""
    return any(address.version == net.version and address in net for net in allowed)


def client_address(web: WebContext, peer: str | None, headers: Mapping[str, str]) -> str | None:
    """The caller's address: the socket peer, or what a trusted proxy says it saw."""
    header = (web.trusted_proxy_header or "").strip().lower()
    if not header:
        return peer
    peer_address = parse_address(peer)
    if peer_address is None or not within(peer_address, networks(web.trusted_proxies)):
        return peer
    value = headers.get(header, "")
    # X-Forwarded-For appends: the rightmost entry is the one our proxy itself saw.
    seen = value.split(",")[-1].strip() if value else ""
    return seen or peer


def source_allowed(
    web: WebContext, provider: str, peer: str | None, headers: Mapping[str, str]
) -> bool:
    """True when the provider has no allow-list or the request comes from within it."""
    allowed = web.allowed_sources.get(provider)
    if not allowed:
        return True
    address = parse_address(client_address(web, peer, headers))
    return address is not None and within(address, networks(tuple(allowed)))
