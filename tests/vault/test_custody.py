"""Tests for holding an unlocked staff key server-side under a cookie-held key."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediation.vault import (
    SUITES,
    CustodyExpired,
    CustodyInvalid,
    KeyPair,
    decode_cookie_key,
    encode_cookie_key,
    generate_keypair,
    open_custody,
    seal_for_custody,
)


@cache
def keypair(suite: str) -> KeyPair:
    return generate_keypair(suite)


@cache
def custody(suite: str) -> tuple[bytes, bytes]:
    return seal_for_custody(keypair(suite).private, suite)


@pytest.mark.parametrize("suite", SUITES)
def test_custody_round_trip_rebuilds_the_key_pair(suite: str) -> None:
    blob, cookie_key = custody(suite)
    assert open_custody(blob, cookie_key) == keypair(suite)


@pytest.mark.parametrize("suite", SUITES)
def test_cookie_key_is_fresh_and_32_bytes(suite: str) -> None:
    _, first = seal_for_custody(keypair(suite).private, suite)
    _, second = seal_for_custody(keypair(suite).private, suite)
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize("suite", SUITES)
def test_blob_does_not_contain_the_private_key(suite: str) -> None:
    blob, cookie_key = custody(suite)
    private = keypair(suite).private
    assert private[:8] not in blob
    assert cookie_key not in blob


@pytest.mark.parametrize("suite", SUITES)
def test_another_cookie_key_raises_custody_invalid(suite: str) -> None:
    blob, _ = custody(suite)
    _, other_cookie_key = seal_for_custody(keypair(suite).private, suite)
    with pytest.raises(CustodyInvalid):
        open_custody(blob, other_cookie_key)


@pytest.mark.parametrize("suite", SUITES)
def test_another_sessions_blob_raises_custody_invalid(suite: str) -> None:
    _, cookie_key = custody(suite)
    other_blob, _ = seal_for_custody(keypair(suite).private, suite)
    with pytest.raises(CustodyInvalid):
        open_custody(other_blob, cookie_key)


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
def test_altered_blob_raises_custody_invalid(suite: str, data: st.DataObject) -> None:
    blob, cookie_key = custody(suite)
    altered = bytearray(blob)
    position = data.draw(st.integers(0, len(blob) - 1), label="position")
    altered[position] ^= data.draw(st.integers(1, 255), label="mask")
    with pytest.raises(CustodyInvalid):
        open_custody(bytes(altered), cookie_key)


@pytest.mark.parametrize("suite", SUITES)
def test_truncated_blob_or_cookie_key_raises_custody_invalid(suite: str) -> None:
    blob, cookie_key = custody(suite)
    for length in range(len(blob)):
        with pytest.raises(CustodyInvalid):
            open_custody(blob[:length], cookie_key)
    with pytest.raises(CustodyInvalid):
        open_custody(blob, cookie_key[:-1])


def test_custody_with_a_lifetime_expires() -> None:
    blob, cookie_key = seal_for_custody(keypair("x25519").private, "x25519", lifetime=60, now=1000)
    assert open_custody(blob, cookie_key, now=1059) == keypair("x25519")
    with pytest.raises(CustodyExpired):
        open_custody(blob, cookie_key, now=1060)


def test_an_expired_blob_with_the_wrong_cookie_key_is_invalid_not_expired() -> None:
    blob, _ = seal_for_custody(keypair("x25519").private, "x25519", lifetime=60, now=1000)
    with pytest.raises(CustodyInvalid):
        open_custody(blob, bytes(32), now=5000)


def test_custody_without_a_lifetime_does_not_expire() -> None:
    blob, cookie_key = custody("x25519")
    assert open_custody(blob, cookie_key, now=10**12) == keypair("x25519")


def test_private_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError):
        seal_for_custody(bytes(31), "x25519")


def test_cookie_key_survives_cookie_encoding() -> None:
    _, cookie_key = custody("x25519")
    text = encode_cookie_key(cookie_key)
    assert text.isascii() and "=" not in text
    assert decode_cookie_key(text) == cookie_key


@pytest.mark.parametrize("mangled", ["", "abc", "!!!!", "A" * 40])
def test_mangled_cookie_value_raises_custody_invalid(mangled: str) -> None:
    with pytest.raises(CustodyInvalid):
        decode_cookie_key(mangled)


def test_custody_errors_tell_the_user_to_sign_in_again() -> None:
    assert "sign in" in str(CustodyInvalid())
    assert "sign in" in str(CustodyExpired())
