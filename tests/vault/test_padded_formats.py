"""Every sealed format pads its plaintext with the one padding function, and each format
written before padding still opens (issue 20).

Symmetric envelopes (drafts, receipts, statistical records), session custody blobs and
wrapped staff keys pad as HPKE envelopes do; a version marker, authenticated with the
ciphertext, says whether the plaintext was padded, so an old one opens and a new one
cannot be passed off as old.
"""

from __future__ import annotations

import base64
import secrets
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from mediation.vault import (
    SUITES,
    TEST_KDF,
    CustodyInvalid,
    SymmetricOpener,
    TamperedCiphertext,
    WrappedKey,
    WrongPassword,
    decrypt_symmetric,
    derive_key,
    encrypt_symmetric,
    generate_keypair,
    generate_symmetric_key,
    open_custody,
    seal,
    seal_for_custody,
    symmetric_envelope_key_id,
    symmetric_key_id,
    unwrap_private_key,
    wrap_private_key,
)
from mediation.vault.padding import MIN_PADDED_LENGTH, pad, padded_length, unpad
from mediation.vault.suites import suite_spec
from mediation.vault.symmetric import SYMMETRIC_VERSION, UNPADDED_SYMMETRIC_VERSION

CONTEXT = "draft:abc:answers"
PASSWORD = "correct horse battery staple"
SYMMETRIC_OVERHEAD = 1 + 16 + 12 + 16  # version, key id, nonce, tag


def legacy_symmetric(plaintext: bytes, key: bytes, context: str) -> bytes:
    """An envelope as encrypt_symmetric made it before padding (version B1)."""
    key_id = bytes.fromhex(symmetric_key_id(key))
    header = bytes([UNPADDED_SYMMETRIC_VERSION]) + key_id
    nonce = secrets.token_bytes(12)
    aad = b"compact-mediation/v1\x00symmetric\x00" + header + context.encode()
    return header + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


@given(plaintext=st.binary(max_size=3000), minimum=st.sampled_from([256, 512, 4096]))
def test_padding_comes_off_exactly_and_respects_its_floor(plaintext: bytes, minimum: int) -> None:
    padded = pad(plaintext, minimum)
    assert len(padded) == padded_length(len(plaintext), minimum) >= minimum
    assert unpad(padded) == plaintext


def test_the_floor_never_goes_below_256_bytes() -> None:
    assert padded_length(3, minimum_length=16) == MIN_PADDED_LENGTH


def test_symmetric_envelopes_of_any_short_length_are_one_length() -> None:
    key = generate_symmetric_key()
    lengths = {len(encrypt_symmetric(b"a" * n, key, CONTEXT)) for n in (0, 1, 30, 89, 200, 255)}
    assert lengths == {MIN_PADDED_LENGTH + SYMMETRIC_OVERHEAD}


def test_symmetric_envelopes_pad_longer_plaintexts_as_hpke_envelopes_do() -> None:
    key = generate_symmetric_key()
    for length in (256, 1000, 5000, 70_000):
        envelope = encrypt_symmetric(b"b" * length, key, CONTEXT)
        assert envelope[0] == SYMMETRIC_VERSION
        assert len(envelope) == padded_length(length) + SYMMETRIC_OVERHEAD
        assert decrypt_symmetric(envelope, key, CONTEXT) == b"b" * length


@given(plaintext=st.binary(max_size=600))
def test_a_symmetric_envelope_made_before_padding_still_opens(plaintext: bytes) -> None:
    key = generate_symmetric_key()
    legacy = legacy_symmetric(plaintext, key, CONTEXT)
    assert symmetric_envelope_key_id(legacy) == symmetric_key_id(key)
    assert decrypt_symmetric(legacy, key, CONTEXT) == plaintext
    assert SymmetricOpener(key).decrypt(legacy, CONTEXT) == plaintext


def test_a_padded_symmetric_envelope_relabelled_unpadded_is_refused() -> None:
    key = generate_symmetric_key()
    relabelled = bytearray(encrypt_symmetric(b"secret", key, CONTEXT))
    relabelled[0] = UNPADDED_SYMMETRIC_VERSION
    with pytest.raises(TamperedCiphertext):
        decrypt_symmetric(bytes(relabelled), key, CONTEXT)
    unpadded = bytearray(legacy_symmetric(b"secret", key, CONTEXT))
    unpadded[0] = SYMMETRIC_VERSION
    with pytest.raises(TamperedCiphertext):
        SymmetricOpener(key).decrypt(bytes(unpadded), CONTEXT)


def test_custody_blobs_of_every_suite_are_one_length() -> None:
    lengths = set()
    for suite in SUITES:
        pair = generate_keypair(suite)
        blob, cookie_key = seal_for_custody(pair.private, suite, lifetime=60)
        assert open_custody(blob, cookie_key) == pair
        lengths.add(len(blob))
    assert lengths == {10 + 12 + MIN_PADDED_LENGTH + 16}


@pytest.mark.parametrize("suite", SUITES)
def test_a_custody_blob_made_before_padding_still_opens(suite: str) -> None:
    pair = generate_keypair(suite)
    header = struct.pack(">BBQ", 0xC1, suite_spec(suite).suite_id, 0)
    cookie_key = ChaCha20Poly1305.generate_key()
    nonce = secrets.token_bytes(12)
    aad = b"compact-mediation/v1\x00custody\x00" + header
    blob = header + nonce + ChaCha20Poly1305(cookie_key).encrypt(nonce, pair.private, aad)
    assert open_custody(blob, cookie_key) == pair
    relabelled = bytes([0xC2]) + blob[1:]
    with pytest.raises(CustodyInvalid):
        open_custody(relabelled, cookie_key)


def test_wrapped_keys_of_every_suite_are_one_length_and_say_they_are_padded() -> None:
    lengths = set()
    for suite in SUITES:
        private = generate_keypair(suite).private
        wrapped = wrap_private_key(private, PASSWORD, TEST_KDF)
        assert wrapped.to_dict()["version"] == 2
        assert unwrap_private_key(WrappedKey.from_dict(wrapped.to_dict()), PASSWORD) == private
        lengths.add(len(wrapped.blob))
    assert lengths == {12 + MIN_PADDED_LENGTH + 16}


@pytest.mark.parametrize("suite", SUITES)
def test_a_key_wrapped_before_padding_still_unwraps(suite: str) -> None:
    private = generate_keypair(suite).private
    salt = secrets.token_bytes(16)
    key = derive_key(PASSWORD, salt, TEST_KDF)
    nonce = secrets.token_bytes(12)
    aad = b"compact-mediation/v1\x00wrapped-key\x00password"
    blob = nonce + ChaCha20Poly1305(key).encrypt(nonce, private, aad)
    stored = {
        "version": 1,
        "blob": base64.b64encode(blob).decode(),
        "salt": base64.b64encode(salt).decode(),
        "kdf": TEST_KDF.to_dict(),
    }
    assert unwrap_private_key(WrappedKey.from_dict(stored), PASSWORD) == private
    # Relabelled, each version refuses the other's blob (the version is in the AAD).
    with pytest.raises(WrongPassword):
        unwrap_private_key(WrappedKey.from_dict({**stored, "version": 2}), PASSWORD)
    padded = wrap_private_key(private, PASSWORD, TEST_KDF).to_dict()
    with pytest.raises(WrongPassword):
        unwrap_private_key(WrappedKey.from_dict({**padded, "version": 1}), PASSWORD)


@pytest.mark.parametrize("suite", SUITES)
def test_hpke_envelopes_can_be_given_a_higher_floor(suite: str) -> None:
    public = generate_keypair(suite).public_key()
    short = seal(b"x", public, CONTEXT, minimum_length=512)
    long = seal(b"x" * 500, public, CONTEXT, minimum_length=512)
    assert len(short) == len(long) == len(seal(b"", public, CONTEXT)) + 512 - MIN_PADDED_LENGTH
