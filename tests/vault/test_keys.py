"""Tests for vault key pairs: sizes, determinism, key ids and safe representation."""

from __future__ import annotations

import re

import pytest

from mediation.vault import (
    SUITES,
    KeyPair,
    PublicKey,
    UnsupportedSuite,
    generate_keypair,
    keypair_from_private,
    keypair_from_seed,
    seed_length,
)
from mediation.vault.suites import suite_by_id, suite_spec

EXPECTED_SIZES = {
    # suite: (private/seed bytes, public bytes)
    "x25519": (32, 32),
    "mlkem768-x25519": (32 + 64, 32 + 1184),
}


def test_both_suites_are_offered() -> None:
    assert set(SUITES) == {"x25519", "mlkem768-x25519"}


def test_each_suite_has_its_own_envelope_byte() -> None:
    ids = [suite_spec(name).suite_id for name in SUITES]
    assert len(set(ids)) == len(ids)
    for name in SUITES:
        assert suite_by_id(suite_spec(name).suite_id).name == name


@pytest.mark.parametrize("suite", SUITES)
def test_generated_keys_have_the_documented_sizes(suite: str) -> None:
    keypair = generate_keypair(suite)
    private_length, public_length = EXPECTED_SIZES[suite]
    assert seed_length(suite) == private_length
    assert len(keypair.private) == private_length
    assert len(keypair.public) == public_length


@pytest.mark.parametrize("suite", SUITES)
def test_generated_keys_are_different_each_time(suite: str) -> None:
    assert generate_keypair(suite).public != generate_keypair(suite).public


@pytest.mark.parametrize("suite", SUITES)
def test_key_id_is_32_hex_characters_shared_by_the_public_key(suite: str) -> None:
    keypair = generate_keypair(suite)
    assert re.fullmatch(r"[0-9a-f]{32}", keypair.key_id)
    assert keypair.public_key().key_id == keypair.key_id
    assert keypair.public_key() == PublicKey(suite=suite, public=keypair.public)


@pytest.mark.parametrize("suite", SUITES)
def test_same_seed_gives_same_key_pair(suite: str) -> None:
    seed = bytes(range(seed_length(suite)))
    assert keypair_from_seed(suite, seed) == keypair_from_seed(suite, seed)


@pytest.mark.parametrize(
    ("suite", "position"),
    [("x25519", 0), ("mlkem768-x25519", 0), ("mlkem768-x25519", 32)],
)
def test_different_seeds_give_different_key_pairs(suite: str, position: int) -> None:
    # Position 32 is the start of the ML-KEM seed's d half; its last 32 bytes are the
    # implicit-rejection value z, which by design does not change the public key. 0x10
    # because X25519 clamping ignores the low three bits of the first byte.
    seed = bytearray(seed_length(suite))
    first = keypair_from_seed(suite, bytes(seed))
    seed[position] = 0x10
    second = keypair_from_seed(suite, bytes(seed))
    assert first.public != second.public
    assert first.key_id != second.key_id


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("delta", [-1, 1])
def test_seed_of_the_wrong_length_is_refused(suite: str, delta: int) -> None:
    with pytest.raises(ValueError):
        keypair_from_seed(suite, bytes(seed_length(suite) + delta))


@pytest.mark.parametrize("suite", SUITES)
def test_private_bytes_alone_rebuild_the_whole_key_pair(suite: str) -> None:
    keypair = generate_keypair(suite)
    assert keypair_from_private(suite, keypair.private) == keypair


def test_unknown_suite_is_refused() -> None:
    with pytest.raises(UnsupportedSuite):
        generate_keypair("rot13")
    with pytest.raises(UnsupportedSuite):
        PublicKey(suite="rot13", public=bytes(32))


@pytest.mark.parametrize("suite", SUITES)
def test_public_key_of_the_wrong_length_is_refused(suite: str) -> None:
    public = generate_keypair(suite).public
    with pytest.raises(ValueError):
        PublicKey(suite=suite, public=public[:-1])


@pytest.mark.parametrize("suite", SUITES)
def test_repr_never_shows_the_private_key(suite: str) -> None:
    keypair = generate_keypair(suite)
    text = repr(keypair)
    assert keypair.key_id in text
    assert keypair.private.hex() not in text
    assert repr(keypair.private) not in text
    assert repr(keypair.private[:8])[2:-1] not in text


def test_key_pairs_are_immutable() -> None:
    keypair = generate_keypair("x25519")
    with pytest.raises(AttributeError):
        keypair.private = bytes(32)  # type: ignore[misc]
    assert isinstance(keypair, KeyPair)
