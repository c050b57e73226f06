"""The one padding every sealed plaintext gets, so a ciphertext's length says little about it.

HPKE envelopes, symmetric envelopes (drafts, receipts, statistical records), session
custody blobs and wrapped staff keys all pad with these functions, so a short text of any
kind seals to the same length as any other.
"""

from __future__ import annotations

from mediation.vault.errors import TamperedCiphertext

__all__ = ["MIN_PADDED_LENGTH", "pad", "padded_length", "unpad"]

# Everything up to 255 bytes (a reason, a short message, a key, a statistical record, a
# draft's answers early on) is sealed as 256 bytes, and longer plaintexts are padded with
# Padmé (Nikitin et al., "Reducing metadata leakage from encrypted files and communication
# with PURBs", PETS 2019): at most 12% longer, and a length reveals O(log log n) bits. The
# padding is 0x80 then zero bytes (ISO/IEC 7816-4), so it comes off unambiguously.
MIN_PADDED_LENGTH = 256
_PAD_MARK = b"\x80"


def padded_length(length: int, minimum_length: int = MIN_PADDED_LENGTH) -> int:
    """The length a plaintext of ``length`` bytes is sealed as (its padding included).

    A kind of plaintext whose lengths straddle 256 bytes (a statistical record's JSON, say)
    can ask for a larger ``minimum_length`` so that all of its kind seal alike.
    """
    n = max(length + len(_PAD_MARK), minimum_length, MIN_PADDED_LENGTH)
    exponent = n.bit_length() - 1  # floor(log2 n)
    mask = (1 << (exponent - exponent.bit_length())) - 1
    return (n + mask) & ~mask


def pad(plaintext: bytes, minimum_length: int = MIN_PADDED_LENGTH) -> bytes:
    """``plaintext`` followed by 0x80 and zero bytes up to ``padded_length``."""
    length = padded_length(len(plaintext), minimum_length)
    return plaintext + _PAD_MARK + bytes(length - len(plaintext) - len(_PAD_MARK))


def unpad(padded: bytes) -> bytes:
    """Undo ``pad``; raises TamperedCiphertext for anything ``pad`` cannot have made."""
    content = padded.rstrip(b"\x00")
    if not content.endswith(_PAD_MARK):
        raise TamperedCiphertext()  # authentic, but not padded as this module pads
    return content[: -len(_PAD_MARK)]
