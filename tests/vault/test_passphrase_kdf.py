"""The complainant's passphrase KDF: sized to a 90-bit server-made secret, and each case
opened with the parameters it was filed with (issue 21).

The cost of a derivation is measured in bench/bench_vault.py (CPU time) and its share of
filing in bench/bench_intake.py; here the parameters, and that old cases still open.
"""

from __future__ import annotations

import math

import pytest
from flask import Flask

from mediation.extensions import db
from mediation.services import case_keys, complaints
from mediation.vault import (
    EARLY_PASSPHRASE_KDF,
    PASSPHRASE_KDF,
    STAFF_KEY_KDF,
    KdfParams,
    generate_passphrase,
    passphrase_keypair,
)
from mediation.vault.passphrases import PASSPHRASE_WORDS, passphrase_words
from tests.conftest import StaffFactory

SALT = b"0123456789abcdef"


def test_the_passphrase_kdf_is_light_salted_argon2id() -> None:
    """One pass over 4 MiB in one lane: about 2.5 ms of CPU, a 48th of the memory work of
    the profile before (3 passes over 64 MiB, 4 lanes), while the passphrase keeps its ~90
    bits."""
    assert PASSPHRASE_KDF == KdfParams(iterations=1, memory_cost=4 * 1024, lanes=1)
    assert PASSPHRASE_KDF.to_dict()["algorithm"] == "argon2id"
    early_work = EARLY_PASSPHRASE_KDF.iterations * EARLY_PASSPHRASE_KDF.memory_cost
    assert PASSPHRASE_KDF.iterations * PASSPHRASE_KDF.memory_cost * 40 <= early_work
    assert PASSPHRASE_WORDS * math.log2(len(passphrase_words())) > 90  # 7 words of ~12.9 bits


def test_staff_passwords_keep_their_strong_profile() -> None:
    assert STAFF_KEY_KDF == KdfParams(iterations=3, memory_cost=128 * 1024, lanes=4)


def test_each_profile_and_salt_derives_its_own_key() -> None:
    passphrase = generate_passphrase()
    light = passphrase_keypair(passphrase, SALT, "x25519", PASSPHRASE_KDF)
    assert passphrase_keypair(passphrase, SALT, "x25519", PASSPHRASE_KDF) == light
    assert passphrase_keypair(passphrase, SALT[::-1], "x25519", PASSPHRASE_KDF) != light
    early = passphrase_keypair(passphrase, SALT, "x25519", EARLY_PASSPHRASE_KDF)
    assert early != light


@pytest.fixture
def production_kdf(app: Flask) -> Flask:
    app.config["VAULT_KDF_PROFILE"] = "production"
    return app


def test_a_new_case_stores_the_light_parameters_and_opens_with_them(
    production_kdf: Flask, make_staff: StaffFactory
) -> None:
    make_staff("case_officer")
    with production_kdf.app_context():
        filed = complaints.file_complaint(
            db.session,
            openness="anonymous",
            narrative="What happened.",
            identity=None,
            respondent_body_id=None,
        )
        db.session.commit()
        assert filed.case.complainant_kdf == PASSPHRASE_KDF.to_dict()
        case, derived = complaints.complainant_keypair(
            db.session, filed.reference, filed.passphrase
        )
        assert case.id == filed.case.id
        assert derived.key_id == filed.case.complainant_key_id


def test_a_case_filed_with_the_early_parameters_still_opens_with_them(
    production_kdf: Flask, make_staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_staff("case_officer")
    with production_kdf.app_context():
        with monkeypatch.context() as early:
            early.setattr(case_keys, "passphrase_kdf", lambda: EARLY_PASSPHRASE_KDF)
            filed = complaints.file_complaint(
                db.session,
                openness="anonymous",
                narrative="What happened.",
                identity=None,
                respondent_body_id=None,
            )
            db.session.commit()
        assert filed.case.complainant_kdf == EARLY_PASSPHRASE_KDF.to_dict()
        used: list[KdfParams] = []
        original = complaints.passphrase_keypair

        def spying(passphrase: str, salt: bytes, suite: str, params: KdfParams):  # type: ignore[no-untyped-def]
            used.append(params)
            return original(passphrase, salt, suite, params)

        monkeypatch.setattr(complaints, "passphrase_keypair", spying)
        case, derived = complaints.complainant_keypair(
            db.session, filed.reference, filed.passphrase
        )
        assert derived.key_id == case.complainant_key_id
        # An unknown reference costs a derivation with today's parameters.
        with pytest.raises(complaints.UnknownCaseOrPassphrase):
            complaints.complainant_keypair(db.session, "CM-ZZZZ-ZZZZ", filed.passphrase)
        assert used == [EARLY_PASSPHRASE_KDF, PASSPHRASE_KDF]
