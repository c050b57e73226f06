"""Authenticated symmetric encryption (ChaCha20-Poly1305) bound to a context."""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from mediation.vault.errors import TamperedCiphertext, WrongKey
from mediation.vault.padding import pad, unpad

__all__ = [
    "SYMMETRIC_KEY_LENGTH",
    "SYMMETRIC_VERSION",
    "UNPADDED_SYMMETRIC_VERSION",
    "SymmetricOpener",
    "decrypt_symmetric",
    "encrypt_symmetric",
    "generate_symmetric_key",
    "symmetric_envelope_key_id",
    "symmetric_key_id",
]

# Envelope layout: version | key id (16) | nonce (12) | ChaCha20-Poly1305 ciphertext.
# Version B2 encrypts the plaintext padded (mediation.vault.padding, as HPKE envelopes are);
# B1 envelopes, written before padding, still open. The version byte is authenticated (it is
# in the AAD), so an envelope cannot be passed off as the other version.
SYMMETRIC_VERSION = 0xB2
UNPADDED_SYMMETRIC_VERSION = 0xB1
_VERSIONS = (SYMMETRIC_VERSION, UNPADDED_SYMMETRIC_VERSION)
SYMMETRIC_KEY_LENGTH = 32
_KEY_ID_LENGTH = 16
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_HEADER_LENGTH = 1 + _KEY_ID_LENGTH
_AAD_LABEL = b"compact-mediation/v1\x00symmetric\x00"
_KEY_ID_LABEL = b"compact-mediation/v1\x00symmetric-key-id\x00"


def generate_symmetric_key() -> bytes:
    """A new random 32-byte key."""
    return secrets.token_bytes(SYMMETRIC_KEY_LENGTH)


def _key_id_bytes(key: bytes) -> bytes:
    # A labelled hash of a 256-bit random key reveals nothing usable about the key, and
    # lets rotation find which key an envelope needs.
    return hashlib.sha256(_KEY_ID_LABEL + key).digest()[:_KEY_ID_LENGTH]


def _check(key: bytes, context: str) -> None:
    if len(key) != SYMMETRIC_KEY_LENGTH:
        raise ValueError(f"a symmetric key is {SYMMETRIC_KEY_LENGTH} bytes")
    if not isinstance(context, str) or not context:
        raise ValueError("an encryption context is required")


def symmetric_key_id(key: bytes) -> str:
    """32 hex characters identifying ``key``; recorded in every envelope it makes."""
    return _key_id_bytes(bytes(key)).hex()


def symmetric_envelope_key_id(envelope: bytes) -> str:
    """The id of the key a symmetric envelope was made with, without decrypting."""
    if len(envelope) < _HEADER_LENGTH or envelope[0] not in _VERSIONS:
        raise TamperedCiphertext()
    return bytes(envelope[1:_HEADER_LENGTH]).hex()


def encrypt_symmetric(plaintext: bytes, key: bytes, context: str) -> bytes:
    """Encrypt under ``key``; ``context`` is authenticated and must match on decryption."""
    _check(key, context)
    header = bytes([SYMMETRIC_VERSION]) + _key_id_bytes(bytes(key))
    nonce = secrets.token_bytes(_NONCE_LENGTH)
    aad = _AAD_LABEL + header + context.encode("utf-8")
    return header + nonce + ChaCha20Poly1305(bytes(key)).encrypt(nonce, pad(bytes(plaintext)), aad)


def decrypt_symmetric(envelope: bytes, key: bytes, context: str) -> bytes:
    """Decrypt an ``encrypt_symmetric`` envelope.

    Raises WrongKey if it was made with another key, TamperedCiphertext if it was altered,
    truncated or moved to another context.
    """
    _check(key, context)
    return SymmetricOpener(key).decrypt(envelope, context)


class SymmetricOpener:
    """Decrypts many ``encrypt_symmetric`` envelopes made with one key, as
    ``decrypt_symmetric`` does, with the key's id and cipher made once rather than per
    envelope (a release opens a million records)."""

    __slots__ = ("_aad_prefix", "_aead", "_header", "_unpadded_aad_prefix", "_unpadded_header")

    def __init__(self, key: bytes) -> None:
        _check(key, "-")
        key_id = _key_id_bytes(bytes(key))
        self._header = bytes([SYMMETRIC_VERSION]) + key_id
        self._aad_prefix = _AAD_LABEL + self._header
        self._unpadded_header = bytes([UNPADDED_SYMMETRIC_VERSION]) + key_id
        self._unpadded_aad_prefix = _AAD_LABEL + self._unpadded_header
        self._aead = ChaCha20Poly1305(bytes(key))

    def decrypt(self, envelope: bytes, context: str) -> bytes:
        if not isinstance(context, str) or not context:
            raise ValueError("an encryption context is required")
        if type(envelope) is not bytes:
            envelope = bytes(envelope)
        if len(envelope) < _HEADER_LENGTH + _NONCE_LENGTH + _TAG_LENGTH:
            raise TamperedCiphertext()
        padded = envelope.startswith(self._header)
        if padded:
            aad_prefix = self._aad_prefix
        elif envelope.startswith(self._unpadded_header):
            aad_prefix = self._unpadded_aad_prefix
        elif envelope[0] not in _VERSIONS:
            raise TamperedCiphertext()
        else:
            raise WrongKey()
        try:
            plaintext = self._aead.decrypt(
                envelope[_HEADER_LENGTH : _HEADER_LENGTH + _NONCE_LENGTH],
                envelope[_HEADER_LENGTH + _NONCE_LENGTH :],
                aad_prefix + context.encode("utf-8"),
            )
        except InvalidTag:
            raise TamperedCiphertext() from None
        return unpad(plaintext) if padded else plaintext
