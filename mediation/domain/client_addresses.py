"""What a client address counts as for throttling: one IPv4 address, or one IPv6 /64."""

from __future__ import annotations

import ipaddress

# One subscriber (a home, a phone, a server) is normally given a whole /64, so an attacker
# holds 2**64 addresses there: throttling each address alone would slow nothing.
IPV6_PREFIX = 64


def throttle_address(address: str) -> str:
    """The address as every keyed hash of a client counts it: an IPv4 address as it is (an
    IPv4-mapped IPv6 address as its IPv4 address), an IPv6 address as its /64 prefix;
    anything that is not an address as it is."""
    try:
        parsed = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        mapped = parsed.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        network = ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False)
        return str(network)
    return str(parsed)
