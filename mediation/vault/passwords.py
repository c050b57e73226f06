"""Argon2id profiles, and wrapping staff private keys under a password or recovery key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from mediation.vault.errors import InvalidRecoveryKey, TamperedCiphertext, WrongPassword
from mediation.vault.padding import pad, unpad

__all__ = [
    "EARLY_PASSPHRASE_KDF",
    "PASSPHRASE_KDF",
    "RECOVERY_KEY_KDF",
    "STAFF_KEY_KDF",
    "TEST_KDF",
    "KdfParams",
    "WrappedKey",
    "derive_key",
    "generate_recovery_key",
    "normalise_recovery_key",
    "unwrap_private_key",
    "unwrap_with_recovery_key",
    "wrap_private_key",
    "wrap_with_recovery_key",
]

_KDF_ALGORITHM = "argon2id"
# Version 2 wraps the private key padded (mediation.vault.padding, like every sealed
# thing); version 1 wrappings, made before padding, still open.
_WRAPPED_KEY_VERSION = 2
_UNPADDED_WRAPPED_KEY_VERSION = 1
_SALT_LENGTH = 16
_MIN_SALT_LENGTH = 8  # RFC 9106 minimum
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_WRAP_AAD = b"compact-mediation/v1\x00wrapped-key\x00"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters: passes, memory in KiB, and parallel lanes."""

    iterations: int
    memory_cost: int
    lanes: int

    def __post_init__(self) -> None:
        for name in ("iterations", "memory_cost", "lanes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Argon2id {name} must be a positive integer")
        if self.memory_cost < 8 * self.lanes:
            raise ValueError("Argon2id memory_cost must be at least 8 KiB per lane")

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": _KDF_ALGORITHM,
            "iterations": self.iterations,
            "memory_cost": self.memory_cost,
            "lanes": self.lanes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KdfParams:
        """Parse stored parameters; raises TamperedCiphertext if they are malformed."""
        try:
            if data.get("algorithm", _KDF_ALGORITHM) != _KDF_ALGORITHM:
                raise ValueError("unknown KDF")
            return cls(
                iterations=data["iterations"],
                memory_cost=data["memory_cost"],
                lanes=data["lanes"],
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise TamperedCiphertext("The stored key-derivation settings are damaged.") from None


# Staff private keys are worth more than a login, so they cost more than argon2-cffi's
# login default (t=3, 64 MiB, p=4).
STAFF_KEY_KDF = KdfParams(iterations=3, memory_cost=128 * 1024, lanes=4)
# A complainant's passphrase is 7 words the server drew from 7,776 (about 90 bits), not
# something a person chose, so stretching buys almost nothing against offline guessing
# (2^89 guesses on average, each an Argon2id run: see the README) while every sign-in and
# every complaint filed, which any stranger can trigger, pays for it. One pass over 4 MiB
# costs about 3 ms of CPU; the salt still makes every case's guesses separate work.
PASSPHRASE_KDF = KdfParams(iterations=1, memory_cost=4 * 1024, lanes=1)
# What cases filed before that change were derived with. Each case stores the parameters its
# complainant key was derived with (`complainant_kdf`), so those cases keep these and still
# open, until the complainant's next sign-in moves them to today's (complainant_key_upgrade).
EARLY_PASSPHRASE_KDF = KdfParams(iterations=3, memory_cost=64 * 1024, lanes=4)
# A recovery key carries 130 random bits, so stretching it buys nothing; this is cheap.
RECOVERY_KEY_KDF = KdfParams(iterations=1, memory_cost=8 * 1024, lanes=1)
# The smallest Argon2id allows: for tests only, never for real secrets.
TEST_KDF = KdfParams(iterations=1, memory_cost=8, lanes=1)


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, str):
        # The same password typed on different systems can arrive in different Unicode
        # forms; NFC makes them derive the same key.
        return unicodedata.normalize("NFC", secret).encode("utf-8")
    return bytes(secret)


# cryptography's multi-lane Argon2id deadlocks when two threads of one process derive at the
# same time (seen with cryptography 50 on a 2-core machine: both threads hang for good). The
# development server and any threaded worker serve requests in threads, so derivations in
# one process take turns; separate processes (gunicorn's sync workers) still run in parallel.
_DERIVATION_LOCK = threading.Lock()


def derive_key(
    secret: str | bytes,
    salt: bytes,
    params: KdfParams,
    length: int = 32,
    *,
    ad: bytes | None = None,
) -> bytes:
    """Stretch ``secret`` with Argon2id into ``length`` bytes. Strings are NFC-normalised."""
    if len(salt) < _MIN_SALT_LENGTH:
        raise ValueError(f"an Argon2id salt must be at least {_MIN_SALT_LENGTH} bytes")
    kdf = Argon2id(
        salt=bytes(salt),
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_cost,
        ad=ad,
    )
    with _DERIVATION_LOCK:
        return kdf.derive(_secret_bytes(secret))


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class WrappedKey:
    """A private key encrypted under a key derived from a password or recovery key.

    ``blob`` is the 12-byte nonce followed by the ChaCha20-Poly1305 ciphertext; from
    ``version`` 2 on, of the key padded.
    """

    blob: bytes
    salt: bytes
    params: KdfParams
    version: int = _WRAPPED_KEY_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, bytes in standard base64."""
        return {
            "version": self.version,
            "blob": _b64encode(self.blob),
            "salt": _b64encode(self.salt),
            "kdf": self.params.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WrappedKey:
        """Parse the ``to_dict`` form; raises TamperedCiphertext if it is malformed."""
        try:
            version = data["version"]
            if version not in (_WRAPPED_KEY_VERSION, _UNPADDED_WRAPPED_KEY_VERSION):
                raise ValueError("unknown version")
            blob = _b64decode(data["blob"])
            salt = _b64decode(data["salt"])
            kdf = data["kdf"]
        except (AttributeError, KeyError, TypeError, ValueError, binascii.Error):
            raise TamperedCiphertext("The stored wrapped key is damaged.") from None
        return cls(blob=blob, salt=salt, params=KdfParams.from_dict(kdf), version=version)


def _wrap_aad(purpose: bytes, version: int) -> bytes:
    # The version sits in the stored JSON beside the blob, so each version authenticates
    # its own AAD: a version-2 blob relabelled 1 (to skip unpadding) fails to open.
    # Version 1 keeps the AAD it was made with.
    aad = _WRAP_AAD + purpose
    return aad if version == _UNPADDED_WRAPPED_KEY_VERSION else aad + b"\x00padded"


def _wrap(private: bytes, secret: bytes, params: KdfParams, purpose: bytes) -> WrappedKey:
    salt = secrets.token_bytes(_SALT_LENGTH)
    key = derive_key(secret, salt, params)
    nonce = secrets.token_bytes(_NONCE_LENGTH)
    aad = _wrap_aad(purpose, _WRAPPED_KEY_VERSION)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, pad(bytes(private)), aad)
    return WrappedKey(blob=nonce + ciphertext, salt=salt, params=params)


def _unwrap(wrapped: WrappedKey, secret: bytes, purpose: bytes) -> bytes:
    if len(wrapped.blob) < _NONCE_LENGTH + _TAG_LENGTH or len(wrapped.salt) < _MIN_SALT_LENGTH:
        raise TamperedCiphertext("The stored wrapped key is damaged.")
    key = derive_key(secret, wrapped.salt, wrapped.params)
    nonce, ciphertext = wrapped.blob[:_NONCE_LENGTH], wrapped.blob[_NONCE_LENGTH:]
    try:
        private = ChaCha20Poly1305(key).decrypt(
            nonce, ciphertext, _wrap_aad(purpose, wrapped.version)
        )
    except InvalidTag:
        # A wrong password and a damaged blob look the same; the password is far likelier.
        raise WrongPassword() from None
    return private if wrapped.version == _UNPADDED_WRAPPED_KEY_VERSION else unpad(private)


def wrap_private_key(
    private: bytes, password: str, params: KdfParams = STAFF_KEY_KDF
) -> WrappedKey:
    """Encrypt a staff private key under a key derived from their password."""
    if not password:
        raise ValueError("a password is required to wrap a private key")
    return _wrap(private, _secret_bytes(password), params, b"password")


def unwrap_private_key(wrapped: WrappedKey, password: str) -> bytes:
    """Recover the private key wrapped by ``wrap_private_key``; raises WrongPassword."""
    return _unwrap(wrapped, _secret_bytes(password), b"password")


# Crockford base32: no I, L, O or U, so nothing is ambiguous when read aloud or handwritten.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_READ = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RECOVERY_RANDOM_CHARS = 26  # 130 bits
_RECOVERY_CHECK_CHARS = 2  # catches typos before an expensive-looking "wrong key"
_RECOVERY_GROUP = 4
_RECOVERY_CHECK_LABEL = b"compact-mediation/v1\x00recovery-check\x00"


def _recovery_check(payload: str) -> str:
    digest = hashlib.sha256(_RECOVERY_CHECK_LABEL + payload.encode("ascii")).digest()
    value = int.from_bytes(digest[:2], "big") >> (16 - 5 * _RECOVERY_CHECK_CHARS)
    return "".join(
        _CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(_RECOVERY_CHECK_CHARS))
    )


def _format_recovery(chars: str) -> str:
    return "-".join(chars[i : i + _RECOVERY_GROUP] for i in range(0, len(chars), _RECOVERY_GROUP))


def generate_recovery_key() -> str:
    """A new printable recovery key: 7 groups of 4 Crockford base32 characters (130 bits)."""
    payload = "".join(secrets.choice(_CROCKFORD) for _ in range(_RECOVERY_RANDOM_CHARS))
    return _format_recovery(payload + _recovery_check(payload))


def _recovery_chars(recovery_key: str) -> str:
    if not isinstance(recovery_key, str):
        raise InvalidRecoveryKey()
    chars = "".join(recovery_key.split()).replace("-", "").upper().translate(_CROCKFORD_READ)
    if len(chars) != _RECOVERY_RANDOM_CHARS + _RECOVERY_CHECK_CHARS:
        raise InvalidRecoveryKey()
    if any(c not in _CROCKFORD for c in chars):
        raise InvalidRecoveryKey()
    payload, check = chars[:_RECOVERY_RANDOM_CHARS], chars[_RECOVERY_RANDOM_CHARS:]
    if not secrets.compare_digest(check, _recovery_check(payload)):
        raise InvalidRecoveryKey()
    return chars


def normalise_recovery_key(recovery_key: str) -> str:
    """The canonical ``XXXX-XXXX-...`` form of a recovery key as a person typed it.

    Case, spaces and hyphens are ignored and O/I/L are read as 0/1/1. Raises
    InvalidRecoveryKey if the result is not a well-formed key with a correct check.
    """
    return _format_recovery(_recovery_chars(recovery_key))


def wrap_with_recovery_key(
    private: bytes, recovery_key: str, params: KdfParams = RECOVERY_KEY_KDF
) -> WrappedKey:
    """Encrypt a staff private key under a recovery key from ``generate_recovery_key``."""
    secret = _recovery_chars(recovery_key).encode("ascii")
    return _wrap(private, secret, params, b"recovery")


def unwrap_with_recovery_key(wrapped: WrappedKey, recovery_key: str) -> bytes:
    """Recover a key wrapped by ``wrap_with_recovery_key``.

    Raises InvalidRecoveryKey for a malformed key string and WrongPassword for a
    well-formed key that does not open this wrapping.
    """
    secret = _recovery_chars(recovery_key).encode("ascii")
    return _unwrap(wrapped, secret, b"recovery")
