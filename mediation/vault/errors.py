"""Exceptions raised by the identity vault, each with a message safe to show to a user."""

from __future__ import annotations

__all__ = [
    "CustodyExpired",
    "CustodyInvalid",
    "InvalidRecoveryKey",
    "TamperedCiphertext",
    "UnsupportedSuite",
    "VaultError",
    "WrongKey",
    "WrongPassphrase",
    "WrongPassword",
]


class VaultError(Exception):
    """Base class for every vault failure.

    Messages never contain key material, passwords or plaintext, so callers may show
    ``str(error)`` to the person who triggered it.
    """

    default_message = "The encrypted data could not be processed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class TamperedCiphertext(VaultError):
    """Authentication failed, or the envelope is truncated or malformed."""

    default_message = (
        "The encrypted data is damaged or has been altered, or it belongs somewhere else."
    )


class WrongKey(VaultError):
    """The envelope was sealed to a different key from the one offered."""

    default_message = "This data was encrypted for a different key."


class UnsupportedSuite(VaultError):
    """The envelope or key names an encryption suite this version does not know."""

    default_message = "This data uses an encryption scheme this version does not support."


class WrongPassword(VaultError):
    """A staff password or recovery key failed to unwrap a private key."""

    default_message = "The password or recovery key is not correct."


class InvalidRecoveryKey(VaultError):
    """A recovery key string is not well formed (wrong length, bad character, typo)."""

    default_message = (
        "That recovery key is not valid. Check it for typing mistakes: it has 7 groups "
        "of 4 letters and digits."
    )


class WrongPassphrase(VaultError):
    """A complainant passphrase did not derive the expected key."""

    default_message = "The passphrase is not correct."


class CustodyExpired(VaultError):
    """The session's held key is past its expiry time."""

    default_message = "Your session's unlocked key has expired. Please sign in again."


class CustodyInvalid(VaultError):
    """The session custody blob cannot be opened with the cookie key."""

    default_message = "Your session's unlocked key is no longer available. Please sign in again."
