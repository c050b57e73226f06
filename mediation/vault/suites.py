"""The HPKE suites the vault can seal with, by name and envelope byte."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke

from mediation.vault.errors import UnsupportedSuite

__all__ = [
    "DEFAULT_SUITE",
    "MLKEM768_X25519",
    "SUITES",
    "X25519",
    "SuiteSpec",
    "suite_by_id",
    "suite_spec",
]

X25519 = "x25519"
MLKEM768_X25519 = "mlkem768-x25519"

X25519_KEY_LENGTH = 32
MLKEM768_SEED_LENGTH = 64
MLKEM768_PUBLIC_LENGTH = 1184


@dataclass(frozen=True)
class SuiteSpec:
    """How one named suite maps onto HPKE, and the sizes of its serialised keys."""

    name: str
    suite_id: int
    kem: hpke.KEM
    private_length: int
    public_length: int

    def hpke_suite(self) -> hpke.Suite:
        return hpke.Suite(self.kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)

    @property
    def enc_length(self) -> int:
        """Length of the KEM encapsulation at the start of an HPKE ciphertext."""
        return self.kem.enc_length()


# The ids are written into stored envelopes: never renumber or reuse one.
_SPECS: tuple[SuiteSpec, ...] = (
    SuiteSpec(
        name=X25519,
        suite_id=0x01,
        kem=hpke.KEM.X25519,
        private_length=X25519_KEY_LENGTH,
        public_length=X25519_KEY_LENGTH,
    ),
    SuiteSpec(
        name=MLKEM768_X25519,
        suite_id=0x02,
        kem=hpke.KEM.MLKEM768_X25519,
        private_length=X25519_KEY_LENGTH + MLKEM768_SEED_LENGTH,
        public_length=X25519_KEY_LENGTH + MLKEM768_PUBLIC_LENGTH,
    ),
)

SUITES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)

# Hybrid by default: a ciphertext recorded today should survive a future quantum computer.
DEFAULT_SUITE = MLKEM768_X25519

_BY_NAME = {spec.name: spec for spec in _SPECS}
_BY_ID = {spec.suite_id: spec for spec in _SPECS}


def suite_spec(name: str) -> SuiteSpec:
    """Return the spec for a suite name, or raise UnsupportedSuite."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise UnsupportedSuite() from None


def suite_by_id(suite_id: int) -> SuiteSpec:
    """Return the spec for an envelope suite byte, or raise UnsupportedSuite."""
    try:
        return _BY_ID[suite_id]
    except KeyError:
        raise UnsupportedSuite() from None
