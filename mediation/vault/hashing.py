"""Login password hashing with argon2-cffi's Argon2id PasswordHasher."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "hash_login_password",
    "login_hash_needs_rehash",
    "use_default_parameters",
    "use_fast_parameters_for_tests",
    "verify_login_password",
]

_hasher = PasswordHasher()


def _normalise(password: str) -> str:
    # Same NFC step as the staff key wrapping, so a password that logs in also unlocks.
    return unicodedata.normalize("NFC", password)


def hash_login_password(password: str) -> str:
    """An encoded Argon2id hash (PHC string) of ``password`` for the staff table."""
    return _hasher.hash(_normalise(password))


def verify_login_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; False for a mismatch or a bad hash."""
    try:
        return _hasher.verify(password_hash, _normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def login_hash_needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def use_fast_parameters_for_tests() -> None:
    """Make hashing nearly free. For test suites only: the hashes are trivially crackable."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def use_default_parameters() -> None:
    """Undo ``use_fast_parameters_for_tests``."""
    global _hasher
    _hasher = PasswordHasher()
