"""Tests for HPKE sealing envelopes and context-bound symmetric encryption."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediation.vault import (
    SUITES,
    KeyPair,
    TamperedCiphertext,
    UnsupportedSuite,
    VaultError,
    WrongKey,
    decrypt_symmetric,
    encrypt_symmetric,
    envelope_key_id,
    envelope_suite,
    generate_keypair,
    generate_symmetric_key,
    open_sealed,
    open_text,
    seal,
    seal_text,
    symmetric_envelope_key_id,
    symmetric_key_id,
)
from mediation.vault.sealing import ENVELOPE_VERSION, INFO_LABEL, padded_length
from mediation.vault.suites import suite_spec

CONTEXT = "case:42:narrative"
HEADER_LENGTH = 18  # version, suite id, 16-byte key id
PLAINTEXT = b"Name: Jo Example. I was refused service because of my religion."


@cache
def keypair(suite: str, which: int = 0) -> KeyPair:
    # Cached rather than a fixture so that hypothesis tests can share the keys.
    return generate_keypair(suite)


@cache
def sample_envelope(suite: str) -> bytes:
    return seal(PLAINTEXT, keypair(suite).public_key(), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
@given(plaintext=st.binary(max_size=2048), context=st.text(min_size=1, max_size=64))
@settings(max_examples=50)
def test_sealed_data_opens_to_the_same_bytes(suite: str, plaintext: bytes, context: str) -> None:
    envelope = seal(plaintext, keypair(suite).public_key(), context)
    assert open_sealed(envelope, keypair(suite), context) == plaintext


@pytest.mark.parametrize("suite", SUITES)
def test_sealing_needs_only_the_public_key_and_opening_needs_the_private_key(suite: str) -> None:
    owner = keypair(suite)
    envelope = seal(PLAINTEXT, owner.public_key(), CONTEXT)
    # Right public key and id, wrong private key: the header check passes but HPKE fails.
    impostor = KeyPair(suite=suite, private=keypair(suite, 1).private, public=owner.public)
    with pytest.raises(TamperedCiphertext):
        open_sealed(envelope, impostor, CONTEXT)
    assert open_sealed(envelope, owner, CONTEXT) == PLAINTEXT


@pytest.mark.parametrize("suite", SUITES)
def test_opening_with_another_key_pair_raises_wrong_key(suite: str) -> None:
    with pytest.raises(WrongKey):
        open_sealed(sample_envelope(suite), keypair(suite, 1), CONTEXT)


def test_opening_with_a_key_pair_of_the_other_suite_raises_wrong_key() -> None:
    with pytest.raises(WrongKey):
        open_sealed(sample_envelope("x25519"), keypair("mlkem768-x25519"), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize(
    "other_context", ["case:43:narrative", "case:42:message", "case:42:narrative "]
)
def test_opening_in_another_context_raises_tampered(suite: str, other_context: str) -> None:
    with pytest.raises(TamperedCiphertext):
        open_sealed(sample_envelope(suite), keypair(suite), other_context)


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
@settings(max_examples=200)
def test_flipping_any_ciphertext_byte_raises_tampered(suite: str, data: st.DataObject) -> None:
    envelope = bytearray(sample_envelope(suite))
    position = data.draw(st.integers(HEADER_LENGTH, len(envelope) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    envelope[position] ^= mask
    with pytest.raises(TamperedCiphertext):
        open_sealed(bytes(envelope), keypair(suite), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
@given(position=st.integers(0, HEADER_LENGTH - 1), mask=st.integers(1, 255))
def test_flipping_any_header_byte_is_refused(suite: str, position: int, mask: int) -> None:
    envelope = bytearray(sample_envelope(suite))
    envelope[position] ^= mask
    # A changed key id is indistinguishable from an envelope sealed to another key, and
    # a changed suite byte may name no suite at all; every case is still refused.
    expected: type[VaultError]
    if position == 0:
        expected = TamperedCiphertext
    elif position == 1:
        expected = VaultError
    else:
        expected = WrongKey
    with pytest.raises(expected):
        open_sealed(bytes(envelope), keypair(suite), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
def test_truncated_envelope_raises_tampered(suite: str, data: st.DataObject) -> None:
    envelope = sample_envelope(suite)
    length = data.draw(st.integers(0, len(envelope) - 1), label="length")
    with pytest.raises(TamperedCiphertext):
        open_sealed(envelope[:length], keypair(suite), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
def test_appended_bytes_raise_tampered(suite: str) -> None:
    with pytest.raises(TamperedCiphertext):
        open_sealed(sample_envelope(suite) + b"\x00", keypair(suite), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
def test_unknown_suite_byte_raises_unsupported_suite(suite: str) -> None:
    envelope = bytearray(sample_envelope(suite))
    envelope[1] = 0xFE
    with pytest.raises(UnsupportedSuite):
        open_sealed(bytes(envelope), keypair(suite), CONTEXT)
    with pytest.raises(UnsupportedSuite):
        envelope_suite(bytes(envelope))


def test_relabelling_the_suite_byte_as_the_other_suite_raises_tampered() -> None:
    envelope = bytearray(sample_envelope("x25519"))
    envelope[1] = suite_spec("mlkem768-x25519").suite_id
    with pytest.raises(TamperedCiphertext):
        open_sealed(bytes(envelope), keypair("x25519"), CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
def test_header_can_be_read_without_the_private_key(suite: str) -> None:
    envelope = sample_envelope(suite)
    assert envelope[0] == ENVELOPE_VERSION
    assert envelope_key_id(envelope) == keypair(suite).key_id
    assert envelope_suite(envelope) == suite


@pytest.mark.parametrize("bad", [b"", b"\xa1", b"\x00" * 40])
def test_reading_the_header_of_garbage_raises_tampered(bad: bytes) -> None:
    with pytest.raises(TamperedCiphertext):
        envelope_key_id(bad)


@pytest.mark.parametrize("suite", SUITES)
def test_envelope_adds_a_fixed_overhead_to_the_padded_plaintext(suite: str) -> None:
    plaintext = b"x" * 1000
    envelope = seal(plaintext, keypair(suite).public_key(), CONTEXT)
    overhead = HEADER_LENGTH + suite_spec(suite).enc_length + 16
    assert len(envelope) == padded_length(len(plaintext)) + overhead == 1024 + overhead


@pytest.mark.parametrize("suite", SUITES)
def test_short_texts_are_all_sealed_to_one_length(suite: str) -> None:
    """A one-word reason and a 255-byte one look the same in the database."""
    public = keypair(suite).public_key()
    lengths = {len(seal(b"y" * n, public, CONTEXT)) for n in (0, 1, 7, 64, 200, 255)}
    assert len(lengths) == 1


@given(length=st.integers(0, 2_000_000))
def test_padding_costs_at_most_12_percent_above_256_bytes_and_always_fits(length: int) -> None:
    padded = padded_length(length)
    assert padded > length  # room for the 0x80 mark
    if length >= 256:
        assert padded <= (length + 1) * 1.12
    # Lengths are rounded to few values: nearby lengths share one.
    assert padded_length(padded - 1) == padded


@pytest.mark.parametrize("suite", SUITES)
@given(plaintext=st.binary(max_size=700))
@settings(max_examples=30)
def test_padded_plaintexts_ending_in_zeros_or_0x80_open_intact(
    suite: str, plaintext: bytes
) -> None:
    for tail in (b"", b"\x00", b"\x80", b"\x80\x00\x00"):
        data = plaintext + tail
        assert (
            open_sealed(seal(data, keypair(suite).public_key(), CONTEXT), keypair(suite), CONTEXT)
            == data
        )


@pytest.mark.parametrize("suite", SUITES)
def test_an_envelope_sealed_before_padding_still_opens(suite: str) -> None:
    pair = keypair(suite)
    spec = suite_spec(suite)
    header = bytes([0xA1, spec.suite_id]) + pair.key_id_bytes
    info = INFO_LABEL + header + CONTEXT.encode()
    legacy = header + spec.hpke_suite().encrypt(PLAINTEXT, pair.public_key().hpke_public, info=info)
    assert open_sealed(legacy, pair, CONTEXT) == PLAINTEXT


@pytest.mark.parametrize("suite", SUITES)
def test_sealing_twice_gives_different_ciphertexts(suite: str) -> None:
    public = keypair(suite).public_key()
    assert seal(PLAINTEXT, public, CONTEXT) != seal(PLAINTEXT, public, CONTEXT)


@pytest.mark.parametrize("suite", SUITES)
def test_no_plaintext_substring_appears_in_the_envelope(suite: str) -> None:
    envelope = sample_envelope(suite)
    for start in range(len(PLAINTEXT) - 4):
        assert PLAINTEXT[start : start + 5] not in envelope


@pytest.mark.parametrize("suite", SUITES)
def test_text_round_trip_keeps_unicode(suite: str) -> None:
    text = "Zoë Ó Súilleabháin — “complaint” 🙂"
    envelope = seal_text(text, keypair(suite).public_key(), CONTEXT)
    assert text.encode("utf-8") not in envelope
    assert open_text(envelope, keypair(suite), CONTEXT) == text


@pytest.mark.parametrize("suite", SUITES)
def test_opening_binary_as_text_raises_tampered(suite: str) -> None:
    envelope = seal(b"\xff\xfe", keypair(suite).public_key(), CONTEXT)
    with pytest.raises(TamperedCiphertext):
        open_text(envelope, keypair(suite), CONTEXT)


def test_an_empty_context_is_refused() -> None:
    with pytest.raises(ValueError):
        seal(PLAINTEXT, keypair("x25519").public_key(), "")


def test_vault_error_messages_are_plain_sentences() -> None:
    for error in (TamperedCiphertext(), WrongKey(), UnsupportedSuite()):
        assert str(error).endswith(".")
        assert isinstance(error, VaultError)


# Symmetric encryption


@given(plaintext=st.binary(max_size=1024), context=st.text(min_size=1, max_size=32))
def test_symmetric_round_trip(plaintext: bytes, context: str) -> None:
    key = symmetric_key()
    assert decrypt_symmetric(encrypt_symmetric(plaintext, key, context), key, context) == plaintext


@cache
def symmetric_key() -> bytes:
    return generate_symmetric_key()


def test_symmetric_envelope_records_its_key_id() -> None:
    key = symmetric_key()
    envelope = encrypt_symmetric(PLAINTEXT, key, CONTEXT)
    assert symmetric_envelope_key_id(envelope) == symmetric_key_id(key)
    assert PLAINTEXT[:8] not in envelope


def test_symmetric_with_another_key_raises_wrong_key() -> None:
    envelope = encrypt_symmetric(PLAINTEXT, symmetric_key(), CONTEXT)
    with pytest.raises(WrongKey):
        decrypt_symmetric(envelope, generate_symmetric_key(), CONTEXT)


def test_symmetric_in_another_context_raises_tampered() -> None:
    envelope = encrypt_symmetric(PLAINTEXT, symmetric_key(), CONTEXT)
    with pytest.raises(TamperedCiphertext):
        decrypt_symmetric(envelope, symmetric_key(), "stats:2025")


@given(data=st.data())
def test_symmetric_flipped_byte_is_refused(data: st.DataObject) -> None:
    envelope = bytearray(encrypt_symmetric(PLAINTEXT, symmetric_key(), CONTEXT))
    position = data.draw(st.integers(0, len(envelope) - 1), label="position")
    envelope[position] ^= data.draw(st.integers(1, 255), label="mask")
    expected: type[VaultError] = WrongKey if 1 <= position < 17 else TamperedCiphertext
    with pytest.raises(expected):
        decrypt_symmetric(bytes(envelope), symmetric_key(), CONTEXT)


def test_symmetric_truncated_envelope_raises_tampered() -> None:
    envelope = encrypt_symmetric(PLAINTEXT, symmetric_key(), CONTEXT)
    for length in range(len(envelope)):
        with pytest.raises(TamperedCiphertext):
            decrypt_symmetric(envelope[:length], symmetric_key(), CONTEXT)
