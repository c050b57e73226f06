"""The vault's operator commands: init, reseal-user, rotate, purge-expired."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskCliRunner

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.services import complaints, keyring
from mediation.services.accounts import find_by_email
from tests import seeded
from tests.conftest import TEST_PASSWORD, StaffFactory


def test_vault_init_creates_the_first_custodian_once(app: Flask, runner: FlaskCliRunner) -> None:
    password = "the first custodian's long password"
    result = runner.invoke(
        args=["vault", "init", "--email", "first@example.org", "--name", "First Officer"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Recovery key" in result.output
    assert password not in result.output
    with app.app_context():
        user = find_by_email(db.session, "first@example.org")
        assert user is not None and user.role == "case_officer"
        assert keyring.unlock(db.session, user, password) is not None
    again = runner.invoke(
        args=["vault", "init", "--email", "second@example.org", "--name", "Second"],
        input=f"{password}\n{password}\n",
    )
    assert again.exit_code == 1
    assert "already has a custodian" in again.output


def test_rotate_and_purge_from_the_command_line(
    app: Flask, runner: FlaskCliRunner, make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    with app.app_context():
        filed = seeded.file_seeded()
        db.session.commit()
        case_id, old_key_id = filed.case.id, filed.case.case_key_id
    wrong = runner.invoke(
        args=["vault", "rotate", "--officer", officer.email], input="wrong password\n"
    )
    assert wrong.exit_code == 1 and "correct email address and password" in wrong.output
    result = runner.invoke(
        args=["vault", "rotate", "--officer", officer.email, "--suite", "mlkem768-x25519"],
        input=f"{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Rotated the keys of 1 cases" in result.output
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None and case.case_key_id != old_key_id
        case.closed_on = date.today() - timedelta(days=800)
        db.session.commit()
    purged = runner.invoke(args=["vault", "purge-expired"])
    assert purged.exit_code == 0 and "Destroyed the keys of 1 cases" in purged.output
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None and case.narrative is None and case.grants == []


def test_reseal_user_gives_a_new_custodian_every_key(
    app: Flask, runner: FlaskCliRunner, make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    with app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        case_id = filed.case.id
    newcomer = make_staff("case_officer")
    with app.app_context():
        user = find_by_email(db.session, newcomer.email)
        assert user is not None
        key = keyring.unlock(db.session, user, TEST_PASSWORD)
        case = db.session.get(Case, case_id)
        assert key is not None and case is not None
        assert not any(g.holder_key_id == key.key_id for g in case.grants)
    result = runner.invoke(
        args=["vault", "reseal-user", "--officer", officer.email, newcomer.email],
        input=f"{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        case = db.session.get(Case, case_id)
        user = find_by_email(db.session, newcomer.email)
        assert case is not None and user is not None
        key = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert key is not None
        opened = complaints.staff_case_key(db.session, user, key, case)
        assert complaints.read_narrative(case, opened) == seeded.NARRATIVE
