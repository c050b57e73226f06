"""Sealing data to a public key with HPKE, in self-describing envelopes bound to a context."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from mediation.vault.errors import TamperedCiphertext, WrongKey
from mediation.vault.keys import KEY_ID_LENGTH, KeyPair, PublicKey
from mediation.vault.padding import MIN_PADDED_LENGTH, pad, padded_length, unpad
from mediation.vault.suites import SuiteSpec, suite_by_id, suite_spec

__all__ = [
    "ENVELOPE_VERSION",
    "INFO_LABEL",
    "envelope_key_id",
    "envelope_suite",
    "open_sealed",
    "open_text",
    "padded_length",
    "seal",
    "seal_text",
]

# Envelope layout (all integers one byte):
#   version | suite id | key id (16 bytes) | HPKE ciphertext (enc || AEAD ciphertext)
# The version byte differs from the symmetric and custody formats so one kind of blob
# can never be mistaken for another. Version A2 seals the plaintext padded (by
# mediation.vault.padding, as every other sealed thing is); A1, written before padding,
# is still opened.
ENVELOPE_VERSION = 0xA2
_UNPADDED_VERSION = 0xA1
_HEADER_LENGTH = 2 + KEY_ID_LENGTH
_AEAD_TAG_LENGTH = 16

INFO_LABEL = b"compact-mediation/v1\x00sealed\x00"


def _info(header: bytes, context: str) -> bytes:
    # The header goes into HPKE info so relabelling the suite or key id breaks the tag, and
    # the context does so that a ciphertext copied to another field or case will not open.
    return INFO_LABEL + header + context.encode("utf-8")


def _check_context(context: str) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError("a sealing context such as 'case:42:narrative' is required")


def _parse_header(envelope: bytes) -> tuple[SuiteSpec, bytes]:
    if len(envelope) < _HEADER_LENGTH or envelope[0] not in (ENVELOPE_VERSION, _UNPADDED_VERSION):
        raise TamperedCiphertext()
    spec = suite_by_id(envelope[1])
    return spec, bytes(envelope[2:_HEADER_LENGTH])


def seal(
    plaintext: bytes,
    recipient: PublicKey,
    context: str,
    *,
    minimum_length: int = MIN_PADDED_LENGTH,
) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of ``recipient``'s private key can read it.

    ``context`` names where the ciphertext will live (for example ``"case:42:narrative"``);
    opening it requires the same context. The plaintext is padded to at least
    ``minimum_length`` bytes (see mediation.vault.padding).
    """
    _check_context(context)
    spec = suite_spec(recipient.suite)
    header = bytes([ENVELOPE_VERSION, spec.suite_id]) + recipient.key_id_bytes
    try:
        public = recipient.hpke_public
        body = spec.hpke_suite().encrypt(
            pad(bytes(plaintext), minimum_length), public, info=_info(header, context)
        )
    except ValueError:
        # Only a degenerate public key (e.g. an all-zero X25519 point) gets here.
        raise ValueError("the recipient public key cannot be encrypted to") from None
    return header + body


def open_sealed(envelope: bytes, keypair: KeyPair, context: str) -> bytes:
    """Decrypt an envelope made by ``seal`` for ``keypair`` in the same ``context``.

    Raises WrongKey if it was sealed to another key, UnsupportedSuite for an unknown suite
    byte, and TamperedCiphertext for anything altered, truncated or moved to another context.
    """
    _check_context(context)
    spec, key_id = _parse_header(envelope)
    if key_id != keypair.key_id_bytes:
        raise WrongKey()
    if spec.name != keypair.suite:
        # The key id commits to the suite, so a matching id with another suite means the
        # suite byte was altered.
        raise TamperedCiphertext()
    body = bytes(envelope[_HEADER_LENGTH:])
    if len(body) < spec.enc_length + _AEAD_TAG_LENGTH:
        raise TamperedCiphertext()
    private = keypair.hpke_private
    try:
        plaintext = spec.hpke_suite().decrypt(
            body, private, info=_info(bytes(envelope[:_HEADER_LENGTH]), context)
        )
    except (InvalidTag, ValueError):
        raise TamperedCiphertext() from None
    # The version byte is in HPKE's info, so it cannot be changed without breaking the tag.
    return plaintext if envelope[0] == _UNPADDED_VERSION else unpad(plaintext)


def envelope_key_id(envelope: bytes) -> str:
    """The 32-hex-character id of the key an envelope was sealed to, without decrypting."""
    return _parse_header(envelope)[1].hex()


def envelope_suite(envelope: bytes) -> str:
    """The name of the suite an envelope was sealed with, without decrypting."""
    return _parse_header(envelope)[0].name


def seal_text(
    text: str,
    recipient: PublicKey,
    context: str,
    *,
    minimum_length: int = MIN_PADDED_LENGTH,
) -> bytes:
    """``seal`` for text, encoded as UTF-8."""
    return seal(text.encode("utf-8"), recipient, context, minimum_length=minimum_length)


def open_text(envelope: bytes, keypair: KeyPair, context: str) -> str:
    """``open_sealed`` for envelopes made by ``seal_text``."""
    plaintext = open_sealed(envelope, keypair, context)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        # Authentic but not text: it was sealed as binary data for some other purpose.
        raise TamperedCiphertext() from None
