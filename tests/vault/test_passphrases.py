"""Tests for complainant passphrases: generation, normalisation and key derivation."""

from __future__ import annotations

import math

import pytest

from mediation.vault import (
    SUITES,
    TEST_KDF,
    WrongPassphrase,
    generate_passphrase,
    new_salt,
    normalise_passphrase,
    open_text,
    passphrase_keypair,
    passphrase_words,
    seal_text,
    wordlist,
)

PASSPHRASE = "abacus zebra copper lantern muffin orbit velvet"
SALT = bytes(range(16))


def test_wordlist_is_the_7776_word_eff_large_list() -> None:
    words = wordlist()
    assert len(words) == 7776
    assert len(set(words)) == 7776
    assert words[0] == "abacus"
    assert all(word == word.strip().lower() and " " not in word for word in words)


def test_passphrase_has_seven_words_all_from_the_list() -> None:
    words = generate_passphrase().split(" ")
    assert len(words) == 7
    assert set(words) <= set(wordlist())


def test_seven_words_give_about_90_bits() -> None:
    assert math.log2(len(passphrase_words())) * 7 > 90


def test_every_passphrase_word_is_its_own_normal_form() -> None:
    # A hyphenated word ("drop-down") would be shown as one word and compared as two.
    words = passphrase_words()
    assert len(words) > 7700
    assert all(normalise_passphrase(word) == word for word in words)


def test_word_count_can_be_chosen() -> None:
    assert len(generate_passphrase(words=4).split(" ")) == 4
    with pytest.raises(ValueError):
        generate_passphrase(words=0)


def test_generated_passphrases_differ() -> None:
    assert len({generate_passphrase() for _ in range(50)}) == 50


def test_generated_passphrase_is_already_normalised() -> None:
    passphrase = generate_passphrase()
    assert normalise_passphrase(passphrase) == passphrase


@pytest.mark.parametrize(
    "typed",
    [
        "Alpha-Beta  gamma",
        "alpha beta gamma",
        "  ALPHA, beta. gamma  ",
        "alpha - beta\tgamma\n",
        "alpha...beta,,gamma",
    ],
)
def test_normalisation_ignores_case_and_separators(typed: str) -> None:
    assert normalise_passphrase(typed) == "alpha beta gamma"


def test_normalisation_keeps_words_apart() -> None:
    assert normalise_passphrase("alphabeta gamma") != normalise_passphrase("alpha beta gamma")


def test_new_salt_is_16_random_bytes() -> None:
    assert len(new_salt()) == 16
    assert new_salt() != new_salt()


@pytest.mark.parametrize("suite", SUITES)
def test_same_passphrase_and_salt_give_the_same_key_pair(suite: str) -> None:
    first = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF)
    second = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF)
    assert first == second
    assert first.suite == suite


@pytest.mark.parametrize("suite", SUITES)
def test_a_different_salt_gives_a_different_key_pair(suite: str) -> None:
    first = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF)
    other = passphrase_keypair(PASSPHRASE, SALT[::-1], suite, TEST_KDF)
    assert first.public != other.public


@pytest.mark.parametrize("suite", SUITES)
def test_a_different_passphrase_gives_a_different_key_pair(suite: str) -> None:
    first = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF)
    other = passphrase_keypair(PASSPHRASE.replace("velvet", "walnut"), SALT, suite, TEST_KDF)
    assert first.public != other.public


@pytest.mark.parametrize("suite", SUITES)
def test_retyped_passphrase_derives_the_same_key_pair(suite: str) -> None:
    retyped = "  " + PASSPHRASE.upper().replace(" ", "-") + "."
    assert passphrase_keypair(retyped, SALT, suite, TEST_KDF) == passphrase_keypair(
        PASSPHRASE, SALT, suite, TEST_KDF
    )


def test_suites_derive_unrelated_keys_from_one_passphrase() -> None:
    classic = passphrase_keypair(PASSPHRASE, SALT, "x25519", TEST_KDF)
    hybrid = passphrase_keypair(PASSPHRASE, SALT, "mlkem768-x25519", TEST_KDF)
    assert hybrid.private[:32] != classic.private


@pytest.mark.parametrize("suite", SUITES)
def test_reply_sealed_to_passphrase_key_opens_with_rederived_key(suite: str) -> None:
    public = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF).public_key()
    envelope = seal_text("Your mediator has replied.", public, "case:7:message:1")
    rederived = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF)
    assert open_text(envelope, rederived, "case:7:message:1") == "Your mediator has replied."


@pytest.mark.parametrize("blank", ["", "  ", " - . , "])
def test_blank_passphrase_is_refused(blank: str) -> None:
    with pytest.raises(ValueError):
        passphrase_keypair(blank, SALT, "x25519", TEST_KDF)


@pytest.mark.parametrize("suite", SUITES)
def test_passphrase_checked_against_the_stored_key_id(suite: str) -> None:
    key_id = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF).key_id
    keypair = passphrase_keypair(PASSPHRASE, SALT, suite, TEST_KDF, expected_key_id=key_id)
    assert keypair.key_id == key_id
    for wrong in (PASSPHRASE.replace("velvet", "walnut"), ""):
        with pytest.raises(WrongPassphrase) as caught:
            passphrase_keypair(wrong, SALT, suite, TEST_KDF, expected_key_id=key_id)
        assert "velvet" not in str(caught.value)
