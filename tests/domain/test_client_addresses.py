"""What a client address counts as for throttling."""

from __future__ import annotations

import pytest

from mediation.domain.client_addresses import throttle_address


@pytest.mark.parametrize(
    ("address", "counted"),
    [
        ("203.0.113.41", "203.0.113.41"),
        ("::ffff:203.0.113.41", "203.0.113.41"),  # IPv4-mapped: the IPv4 address
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002::1", "2001:db8:1:2::/64"),  # however it is written
        ("fe80::1%eth0", "fe80::/64"),  # a scope does not make another client
        ("::1", "::/64"),
        ("unknown", "unknown"),  # no address: as it is
    ],
)
def test_ipv4_as_is_ipv6_by_its_64_prefix(address: str, counted: str) -> None:
    assert throttle_address(address) == counted


def test_another_64_is_another_client() -> None:
    assert throttle_address("2001:db8:1:2::1") != throttle_address("2001:db8:1:3::1")
    assert throttle_address("203.0.113.1") != throttle_address("203.0.113.2")
