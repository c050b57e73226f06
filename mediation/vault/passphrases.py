"""Complainant passphrases: generation from the EFF large wordlist and key derivation."""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from importlib import resources

from mediation.vault.errors import WrongPassphrase
from mediation.vault.keys import KeyPair, keypair_from_seed, seed_length
from mediation.vault.passwords import PASSPHRASE_KDF, KdfParams, derive_key
from mediation.vault.suites import suite_spec

__all__ = [
    "PASSPHRASE_WORDS",
    "WORDLIST_SIZE",
    "generate_passphrase",
    "new_salt",
    "normalise_passphrase",
    "passphrase_keypair",
    "passphrase_words",
    "wordlist",
]

PASSPHRASE_WORDS = 7  # 7 * log2(7776) is about 90 bits
WORDLIST_SIZE = 7776
_SALT_LENGTH = 16
_SEPARATORS = re.compile(r"[\s\-,.]+")
_PASSPHRASE_AD = b"compact-mediation/v1\x00passphrase-key\x00"


@cache
def wordlist() -> tuple[str, ...]:
    """The EFF large wordlist (7,776 words) shipped inside the xkcdpass package."""
    text = resources.files("xkcdpass").joinpath("static/eff-long").read_text(encoding="utf-8")
    words = tuple(line.strip() for line in text.splitlines() if line.strip())
    # A truncated or altered list would silently weaken every passphrase.
    if len(words) != WORDLIST_SIZE or len(set(words)) != WORDLIST_SIZE:
        raise RuntimeError("the EFF large wordlist in xkcdpass is not the expected 7,776 words")
    return words


@cache
def passphrase_words() -> tuple[str, ...]:
    """The words a passphrase is drawn from: the EFF list without its few hyphenated words.

    "drop-down" or "t-shirt" would normalise to two words, so the receipt would show a
    passphrase that is not what sign-in compares; leaving them out costs under 0.001 bits
    a word.
    """
    return tuple(word for word in wordlist() if not _SEPARATORS.search(word))


def generate_passphrase(words: int = PASSPHRASE_WORDS) -> str:
    """A new passphrase of ``words`` random words separated by single spaces."""
    if words < 1:
        raise ValueError("a passphrase needs at least one word")
    choices = passphrase_words()
    return " ".join(secrets.choice(choices) for _ in range(words))


def normalise_passphrase(text: str) -> str:
    """Lowercase, trim, and collapse runs of spaces, hyphens, commas and dots to one space.

    People retype passphrases with different capitalisation and punctuation; all of these
    must derive the same key.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return _SEPARATORS.sub(" ", text).strip()


def new_salt() -> bytes:
    """16 random bytes to use as a per-case passphrase salt."""
    return secrets.token_bytes(_SALT_LENGTH)


def passphrase_keypair(
    passphrase: str,
    salt: bytes,
    suite: str,
    params: KdfParams = PASSPHRASE_KDF,
    *,
    expected_key_id: str | None = None,
) -> KeyPair:
    """Derive the complainant's key pair from their passphrase and the case salt.

    The same normalised passphrase, salt, suite and parameters always give the same pair.
    With ``expected_key_id`` (the stored id of the case's complainant key) a passphrase
    that derives any other key raises WrongPassphrase.
    """
    suite_spec(suite)
    normalised = normalise_passphrase(passphrase)
    if not normalised:
        if expected_key_id is not None:
            raise WrongPassphrase()
        raise ValueError("a passphrase is required")
    # The suite goes into Argon2's associated data so each suite gets an unrelated seed.
    seed = derive_key(
        normalised,
        salt,
        params,
        length=seed_length(suite),
        ad=_PASSPHRASE_AD + suite.encode("ascii"),
    )
    keypair = keypair_from_seed(suite, seed)
    if expected_key_id is not None and not secrets.compare_digest(keypair.key_id, expected_key_id):
        raise WrongPassphrase()
    return keypair
