"""Holding a signed-in staff member's unlocked private key between requests.

The database holds the key encrypted under a random cookie key that only the user's
browser has, so neither the database nor the cookie alone can open it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from mediation.vault.errors import (
    CustodyExpired,
    CustodyInvalid,
    TamperedCiphertext,
    UnsupportedSuite,
)
from mediation.vault.keys import KeyPair, keypair_from_private
from mediation.vault.padding import pad, unpad
from mediation.vault.suites import suite_by_id, suite_spec

__all__ = [
    "COOKIE_KEY_LENGTH",
    "CUSTODY_VERSION",
    "decode_cookie_key",
    "encode_cookie_key",
    "open_custody",
    "seal_for_custody",
]

# Blob layout: version | suite id | expires_at (8 bytes, big-endian unix seconds, 0 = never)
#   | nonce (12) | ChaCha20-Poly1305 ciphertext. Everything before the nonce is AAD.
# Version C2 encrypts the private key padded (mediation.vault.padding, like every sealed
# thing); C1 blobs, written before padding, still open until their sessions end.
CUSTODY_VERSION = 0xC2
_UNPADDED_CUSTODY_VERSION = 0xC1
COOKIE_KEY_LENGTH = 32
_HEADER = struct.Struct(">BBQ")
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_AAD_LABEL = b"compact-mediation/v1\x00custody\x00"


def seal_for_custody(
    private: bytes,
    suite: str,
    *,
    lifetime: float | None = None,
    now: float | None = None,
) -> tuple[bytes, bytes]:
    """Encrypt an unlocked private key for the session store.

    Returns ``(blob, cookie_key)``: store the blob server-side and put the 32-byte cookie
    key (see ``encode_cookie_key``) only in the user's session cookie. With ``lifetime``
    (seconds) the blob carries an authenticated expiry checked by ``open_custody``.
    """
    spec = suite_spec(suite)
    if len(private) != spec.private_length:
        raise ValueError(f"a {suite} private key is {spec.private_length} bytes")
    expires_at = 0
    if lifetime is not None:
        expires_at = int((time.time() if now is None else now) + lifetime)
    header = _HEADER.pack(CUSTODY_VERSION, spec.suite_id, expires_at)
    cookie_key = ChaCha20Poly1305.generate_key()
    nonce = secrets.token_bytes(_NONCE_LENGTH)
    ciphertext = ChaCha20Poly1305(cookie_key).encrypt(
        nonce, pad(bytes(private)), _AAD_LABEL + header
    )
    return header + nonce + ciphertext, cookie_key


def open_custody(blob: bytes, cookie_key: bytes, *, now: float | None = None) -> KeyPair:
    """Decrypt a custody blob with the session's cookie key and rebuild the key pair.

    Raises CustodyInvalid for a wrong cookie key or damaged blob and CustodyExpired once
    an expiry set by ``seal_for_custody`` has passed.
    """
    minimum = _HEADER.size + _NONCE_LENGTH + _TAG_LENGTH
    if len(cookie_key) != COOKIE_KEY_LENGTH or len(blob) < minimum:
        raise CustodyInvalid()
    version, suite_id, expires_at = _HEADER.unpack_from(blob)
    if version not in (CUSTODY_VERSION, _UNPADDED_CUSTODY_VERSION):
        raise CustodyInvalid()
    try:
        spec = suite_by_id(suite_id)
    except UnsupportedSuite:
        raise CustodyInvalid() from None
    header = bytes(blob[: _HEADER.size])
    nonce = bytes(blob[_HEADER.size : _HEADER.size + _NONCE_LENGTH])
    ciphertext = bytes(blob[_HEADER.size + _NONCE_LENGTH :])
    try:
        private = ChaCha20Poly1305(bytes(cookie_key)).decrypt(
            nonce, ciphertext, _AAD_LABEL + header
        )
    except InvalidTag:
        raise CustodyInvalid() from None
    if version == CUSTODY_VERSION:
        try:
            private = unpad(private)
        except TamperedCiphertext:
            raise CustodyInvalid() from None
    # Checked only after authentication, so a forged expiry can never extend a session.
    if expires_at and (time.time() if now is None else now) >= expires_at:
        raise CustodyExpired()
    try:
        return keypair_from_private(spec.name, private)
    except ValueError:
        raise CustodyInvalid() from None


def encode_cookie_key(cookie_key: bytes) -> str:
    """The cookie key as unpadded URL-safe base64, for a cookie or signed session."""
    return base64.urlsafe_b64encode(cookie_key).rstrip(b"=").decode("ascii")


def decode_cookie_key(text: str) -> bytes:
    """Reverse ``encode_cookie_key``; raises CustodyInvalid if the cookie value is mangled."""
    try:
        padded = text + "=" * (-len(text) % 4)
        key = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (AttributeError, TypeError, ValueError, binascii.Error):
        raise CustodyInvalid() from None
    if len(key) != COOKIE_KEY_LENGTH:
        raise CustodyInvalid()
    return key
