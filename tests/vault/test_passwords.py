"""Tests for KDF profiles, password and recovery-key wrapping, and login hashing."""

from __future__ import annotations

import json
import re
import unicodedata

import argon2
import pytest

from mediation.vault import (
    EARLY_PASSPHRASE_KDF,
    STAFF_KEY_KDF,
    SUITES,
    TEST_KDF,
    InvalidRecoveryKey,
    KdfParams,
    TamperedCiphertext,
    WrappedKey,
    WrongPassword,
    derive_key,
    generate_keypair,
    generate_recovery_key,
    hash_login_password,
    login_hash_needs_rehash,
    normalise_recovery_key,
    unwrap_private_key,
    unwrap_with_recovery_key,
    use_fast_parameters_for_tests,
    verify_login_password,
    wrap_private_key,
    wrap_with_recovery_key,
)

PASSWORD = "correct horse battery staple"
SALT = b"0123456789abcdef"
RECOVERY_FORMAT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}")
# A fixed, valid recovery key, so typo tests do not depend on chance.
FIXED_RECOVERY_KEY = "P29Y-0KW7-Y327-9741-3E0Y-HJ6E-DSNY"


def test_staff_key_profile_is_stronger_than_the_login_hash_default() -> None:
    login = argon2.PasswordHasher()
    assert STAFF_KEY_KDF.memory_cost > login.memory_cost
    assert STAFF_KEY_KDF.iterations >= login.time_cost
    assert STAFF_KEY_KDF == KdfParams(iterations=3, memory_cost=131072, lanes=4)
    # The complainant's passphrase profile was made light on purpose (issue 21): see
    # tests/vault/test_passphrase_kdf.py.
    assert EARLY_PASSPHRASE_KDF == KdfParams(iterations=3, memory_cost=65536, lanes=4)


def test_test_profile_is_the_cheapest_argon2id_allows() -> None:
    assert TEST_KDF == KdfParams(iterations=1, memory_cost=8, lanes=1)


@pytest.mark.parametrize(
    "fields",
    [
        {"iterations": 0, "memory_cost": 8, "lanes": 1},
        {"iterations": 1, "memory_cost": 7, "lanes": 1},
        {"iterations": 1, "memory_cost": 8, "lanes": 2},
        {"iterations": 1, "memory_cost": 8, "lanes": 0},
    ],
)
def test_impossible_kdf_parameters_are_refused(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        KdfParams(**fields)


def test_kdf_parameters_survive_a_json_round_trip() -> None:
    assert KdfParams.from_dict(json.loads(json.dumps(STAFF_KEY_KDF.to_dict()))) == STAFF_KEY_KDF


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"iterations": "3", "memory_cost": 8, "lanes": 1},
        {"algorithm": "scrypt", "iterations": 1, "memory_cost": 8, "lanes": 1},
    ],
)
def test_malformed_stored_kdf_parameters_raise_tampered(data: dict[str, object]) -> None:
    with pytest.raises(TamperedCiphertext):
        KdfParams.from_dict(data)


def test_derived_key_is_deterministic_and_depends_on_salt_and_secret() -> None:
    key = derive_key(PASSWORD, SALT, TEST_KDF)
    assert len(key) == 32
    assert derive_key(PASSWORD, SALT, TEST_KDF) == key
    assert derive_key(PASSWORD, SALT[::-1], TEST_KDF) != key
    assert derive_key(PASSWORD + "!", SALT, TEST_KDF) != key
    assert len(derive_key(PASSWORD, SALT, TEST_KDF, length=96)) == 96


def test_unicode_forms_of_the_same_password_derive_the_same_key() -> None:
    composed = unicodedata.normalize("NFC", "café olé")
    decomposed = unicodedata.normalize("NFD", "café olé")
    assert composed != decomposed
    assert derive_key(composed, SALT, TEST_KDF) == derive_key(decomposed, SALT, TEST_KDF)


def test_short_salt_is_refused() -> None:
    with pytest.raises(ValueError):
        derive_key(PASSWORD, b"1234567", TEST_KDF)


@pytest.mark.parametrize("suite", SUITES)
def test_wrapped_private_key_unwraps_with_the_password(suite: str) -> None:
    private = generate_keypair(suite).private
    wrapped = wrap_private_key(private, PASSWORD, TEST_KDF)
    assert private not in wrapped.blob
    assert unwrap_private_key(wrapped, PASSWORD) == private


def test_wrong_password_raises_wrong_password() -> None:
    wrapped = wrap_private_key(generate_keypair("x25519").private, PASSWORD, TEST_KDF)
    with pytest.raises(WrongPassword) as caught:
        unwrap_private_key(wrapped, "Correct horse battery staple")
    assert PASSWORD not in str(caught.value)


def test_wrapping_twice_uses_fresh_salt_and_nonce() -> None:
    private = generate_keypair("x25519").private
    first = wrap_private_key(private, PASSWORD, TEST_KDF)
    second = wrap_private_key(private, PASSWORD, TEST_KDF)
    assert first.salt != second.salt
    assert first.blob != second.blob
    assert len(first.salt) == 16


def test_wrapped_key_survives_a_json_round_trip() -> None:
    private = generate_keypair("mlkem768-x25519").private
    wrapped = wrap_private_key(private, PASSWORD, TEST_KDF)
    restored = WrappedKey.from_dict(json.loads(json.dumps(wrapped.to_dict())))
    assert restored == wrapped
    assert unwrap_private_key(restored, PASSWORD) == private


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("blob"),
        lambda d: d.update(blob="not base64!"),
        lambda d: d.update(version=99),
        lambda d: d.update(kdf={"iterations": 1}),
    ],
)
def test_malformed_stored_wrapped_key_raises_tampered(mutate: object) -> None:
    data = wrap_private_key(bytes(32), PASSWORD, TEST_KDF).to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(TamperedCiphertext):
        WrappedKey.from_dict(data)


def test_altered_blob_is_refused() -> None:
    wrapped = wrap_private_key(bytes(32), PASSWORD, TEST_KDF)
    altered = WrappedKey(
        blob=wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1]),
        salt=wrapped.salt,
        params=wrapped.params,
    )
    with pytest.raises(WrongPassword):
        unwrap_private_key(altered, PASSWORD)
    with pytest.raises(TamperedCiphertext):
        unwrap_private_key(WrappedKey(blob=b"short", salt=wrapped.salt, params=TEST_KDF), PASSWORD)


# Recovery keys


def test_recovery_key_is_seven_readable_groups_of_four() -> None:
    key = generate_recovery_key()
    assert RECOVERY_FORMAT.fullmatch(key), key
    # 26 random characters from a 32-symbol alphabet: 130 bits, at least the 128 required.
    assert 26 * 5 >= 128


def test_recovery_keys_are_unique() -> None:
    assert len({generate_recovery_key() for _ in range(200)}) == 200


@pytest.mark.parametrize("suite", SUITES)
def test_recovery_key_unwraps_what_it_wrapped(suite: str) -> None:
    private = generate_keypair(suite).private
    key = generate_recovery_key()
    wrapped = wrap_with_recovery_key(private, key, TEST_KDF)
    assert unwrap_with_recovery_key(wrapped, key) == private


def test_recovery_key_is_read_leniently() -> None:
    key = FIXED_RECOVERY_KEY
    wrapped = wrap_with_recovery_key(bytes(32), key, TEST_KDF)
    sloppy = "  " + key.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    assert normalise_recovery_key(sloppy) == key
    assert unwrap_with_recovery_key(wrapped, sloppy) == bytes(32)
    assert normalise_recovery_key(key.replace("-", "")) == key


def test_a_different_valid_recovery_key_raises_wrong_password() -> None:
    wrapped = wrap_with_recovery_key(bytes(32), FIXED_RECOVERY_KEY, TEST_KDF)
    with pytest.raises(WrongPassword):
        unwrap_with_recovery_key(wrapped, generate_recovery_key())


def test_a_password_wrapping_does_not_open_as_a_recovery_wrapping() -> None:
    wrapped = wrap_private_key(bytes(32), FIXED_RECOVERY_KEY.replace("-", ""), TEST_KDF)
    with pytest.raises(WrongPassword):
        unwrap_with_recovery_key(wrapped, FIXED_RECOVERY_KEY)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "P29Y-0KW7-Y327-9741-3E0Y-HJ6E",  # a group missing
        "P29Y-0KW7-Y327-9741-3E0Y-HJ6E-DSNYX",  # one character too many
        "P29Y-0KW7-Y327-9741-3E0Y-HJ6E-DSNU",  # U is not in the alphabet
        "P29Y-0KW7-Y327-9741-3E0Y-HJ6E-DSN!",
        "P29Y-0KW7-Y328-9741-3E0Y-HJ6E-DSNY",  # a one-character typo
        "P29Y-0KW7-Y327-9714-3E0Y-HJ6E-DSNY",  # two characters swapped
    ],
)
def test_malformed_recovery_key_raises_invalid_recovery_key(bad: str) -> None:
    with pytest.raises(InvalidRecoveryKey):
        normalise_recovery_key(bad)
    wrapped = wrap_with_recovery_key(bytes(32), FIXED_RECOVERY_KEY, TEST_KDF)
    with pytest.raises(InvalidRecoveryKey):
        unwrap_with_recovery_key(wrapped, bad)


def test_invalid_recovery_key_error_does_not_echo_the_input() -> None:
    with pytest.raises(InvalidRecoveryKey) as caught:
        normalise_recovery_key("P29Y-0KW7-Y328-9741-3E0Y-HJ6E-DSNY")
    assert "P29Y" not in str(caught.value)


# Login password hashing


def test_login_hash_verifies_only_the_right_password() -> None:
    use_fast_parameters_for_tests()
    password_hash = hash_login_password(PASSWORD)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert verify_login_password(password_hash, PASSWORD)
    assert not verify_login_password(password_hash, PASSWORD.upper())
    assert not verify_login_password("not a hash", PASSWORD)


def test_login_hash_from_other_parameters_needs_rehash() -> None:
    use_fast_parameters_for_tests()
    assert not login_hash_needs_rehash(hash_login_password(PASSWORD))
    other = argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    assert verify_login_password(other, PASSWORD)
    assert login_hash_needs_rehash(other)
    assert login_hash_needs_rehash("not a hash")


def test_derivations_in_two_threads_at_once_both_finish() -> None:
    """Multi-lane Argon2id in two threads of one process hung for good (cryptography 50, two
    cores); the threaded development server signs people in on threads."""
    import threading

    from mediation.vault.passwords import KdfParams, derive_key

    params = KdfParams(iterations=1, memory_cost=8 * 1024, lanes=4)
    results: list[bytes] = []

    def derive() -> None:
        results.append(derive_key("a password", b"0123456789abcdef", params))

    threads = [threading.Thread(target=derive, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 4 and len(set(results)) == 1
