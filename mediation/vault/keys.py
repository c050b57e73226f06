"""Key pairs for the vault's HPKE suites: generation, derivation from seeds, key ids."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from mediation.vault.suites import (
    MLKEM768_X25519,
    X25519,
    X25519_KEY_LENGTH,
    suite_spec,
)

__all__ = [
    "KEY_ID_LENGTH",
    "KeyPair",
    "PublicKey",
    "generate_keypair",
    "keypair_from_private",
    "keypair_from_seed",
    "load_hpke_private",
    "load_hpke_public",
    "seed_length",
]

KEY_ID_LENGTH = 16

HpkePrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
HpkePublicKey = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey


def _key_id_bytes(suite: str, public: bytes) -> bytes:
    # The suite name is hashed in so the same bytes under another suite get another id.
    return hashlib.sha256(suite.encode("ascii") + public).digest()[:KEY_ID_LENGTH]


def _check_public(suite: str, public: bytes) -> None:
    expected = suite_spec(suite).public_length
    if len(public) != expected:
        raise ValueError(f"a {suite} public key is {expected} bytes, not {len(public)}")


@dataclass(frozen=True, repr=False)
class PublicKey:
    """A recipient's public key: anyone holding it can seal data that only the owner opens."""

    suite: str
    public: bytes

    def __post_init__(self) -> None:
        _check_public(self.suite, self.public)

    def __repr__(self) -> str:
        return f"PublicKey(suite={self.suite!r}, key_id={self.key_id!r})"

    @cached_property
    def hpke_public(self) -> HpkePublicKey:
        """The key object HPKE encrypts to (for vault internals), parsed once per instance."""
        return load_hpke_public(self)

    @property
    def key_id_bytes(self) -> bytes:
        return _key_id_bytes(self.suite, self.public)

    @property
    def key_id(self) -> str:
        """32 hex characters identifying this key; stored in every envelope sealed to it."""
        return self.key_id_bytes.hex()


@dataclass(frozen=True, repr=False)
class KeyPair:
    """A private key with its public key, both as serialised bytes.

    ``private`` is the raw X25519 key (32 bytes) for ``x25519``, and the raw X25519 key
    followed by the 64-byte ML-KEM-768 seed for ``mlkem768-x25519``. It is left out of
    ``repr`` so a stray log line or traceback cannot leak it.

    The second half of the ML-KEM seed (FIPS 203's implicit-rejection value z) does not
    affect the public key, so two pairs differing only there share a key id; both open
    the same ciphertexts.
    """

    suite: str
    private: bytes
    public: bytes

    def __repr__(self) -> str:
        return f"KeyPair(suite={self.suite!r}, key_id={self.key_id!r})"

    def __post_init__(self) -> None:
        expected = suite_spec(self.suite).private_length
        if len(self.private) != expected:
            raise ValueError(f"a {self.suite} private key is {expected} bytes")
        _check_public(self.suite, self.public)

    @property
    def key_id_bytes(self) -> bytes:
        return _key_id_bytes(self.suite, self.public)

    @property
    def key_id(self) -> str:
        """32 hex characters identifying this key pair; equal to its public key's id."""
        return self.key_id_bytes.hex()

    def public_key(self) -> PublicKey:
        return PublicKey(suite=self.suite, public=self.public)

    @cached_property
    def hpke_private(self) -> HpkePrivateKey:
        """The key object HPKE decrypts with (for vault internals), built once per instance.

        Expanding an ML-KEM seed costs more than an HPKE open, so callers opening many
        envelopes should reuse one KeyPair.
        """
        return load_hpke_private(self.suite, self.private)


def seed_length(suite: str) -> int:
    """Bytes of seed ``keypair_from_seed`` needs for ``suite``."""
    return suite_spec(suite).private_length


def load_hpke_private(suite: str, private: bytes) -> HpkePrivateKey:
    """Turn serialised private bytes into the key object HPKE decrypts with."""
    spec = suite_spec(suite)
    if len(private) != spec.private_length:
        raise ValueError(f"a {suite} private key is {spec.private_length} bytes")
    x_key = x25519.X25519PrivateKey.from_private_bytes(private[:X25519_KEY_LENGTH])
    if suite == X25519:
        return x_key
    if suite == MLKEM768_X25519:
        m_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[X25519_KEY_LENGTH:])
        return hpke.MLKEM768X25519PrivateKey(m_key, x_key)
    raise AssertionError(f"suite {suite} has a spec but no loader")  # pragma: no cover


def load_hpke_public(public_key: PublicKey) -> HpkePublicKey:
    """Turn a serialised public key into the key object HPKE encrypts to."""
    suite, public = public_key.suite, public_key.public
    x_key = x25519.X25519PublicKey.from_public_bytes(public[:X25519_KEY_LENGTH])
    if suite == X25519:
        return x_key
    if suite == MLKEM768_X25519:
        m_key = mlkem.MLKEM768PublicKey.from_public_bytes(public[X25519_KEY_LENGTH:])
        return hpke.MLKEM768X25519PublicKey(m_key, x_key)
    raise AssertionError(f"suite {suite} has a spec but no loader")  # pragma: no cover


def keypair_from_private(suite: str, private: bytes) -> KeyPair:
    """Rebuild a key pair (recomputing the public half) from serialised private bytes."""
    private = bytes(private)
    spec = suite_spec(suite)
    if len(private) != spec.private_length:
        raise ValueError(f"a {suite} private key is {spec.private_length} bytes")
    x_key = x25519.X25519PrivateKey.from_private_bytes(private[:X25519_KEY_LENGTH])
    x_public = x_key.public_key().public_bytes_raw()
    if suite == X25519:
        public = x_public
    elif suite == MLKEM768_X25519:
        m_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[X25519_KEY_LENGTH:])
        public = x_public + m_key.public_key().public_bytes_raw()
    else:  # pragma: no cover
        raise AssertionError(f"suite {suite} has a spec but no loader")
    return KeyPair(suite=suite, private=private, public=public)


def keypair_from_seed(suite: str, seed: bytes) -> KeyPair:
    """Derive a key pair deterministically from exactly ``seed_length(suite)`` uniform bytes.

    The seed layout is the private-key layout, so the same bytes always give the same pair.
    """
    expected = seed_length(suite)
    if len(seed) != expected:
        raise ValueError(f"a {suite} seed is {expected} bytes, not {len(seed)}")
    return keypair_from_private(suite, seed)


def generate_keypair(suite: str) -> KeyPair:
    """Make a fresh random key pair for ``suite``."""
    return keypair_from_seed(suite, secrets.token_bytes(seed_length(suite)))
