"""Operators can file a complaint from a JSON file; the passphrase is printed once."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.services import complaints
from tests.conftest import StaffLogin
from tests.intake.test_api import EXAMPLE


def test_a_complaint_is_filed_from_a_json_file(
    app: Flask, runner: FlaskCliRunner, officer: StaffLogin, tmp_path: Path
) -> None:
    source = tmp_path / "complaint.json"
    source.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    result = runner.invoke(args=["complaints", "file", str(source)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    reference, passphrase = lines["Reference"].strip(), lines["Passphrase"].strip()
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        assert case.reference == reference
        complaints.complainant_keypair(db.session, reference, passphrase)


def test_an_invalid_file_names_each_field_and_files_nothing(
    app: Flask, runner: FlaskCliRunner, officer: StaffLogin, tmp_path: Path
) -> None:
    source = tmp_path / "complaint.json"
    source.write_text(json.dumps(dict(EXAMPLE, openness="secret")), encoding="utf-8")
    result = runner.invoke(args=["complaints", "file", str(source)])
    assert result.exit_code == 1
    assert "openness:" in result.output
    source.write_text("not json", encoding="utf-8")
    assert runner.invoke(args=["complaints", "file", str(source)]).exit_code == 1
    with app.app_context():
        assert db.session.execute(select(Case)).first() is None


def test_purge_deletes_expired_drafts(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["complaints", "purge"])
    assert result.exit_code == 0
    assert "Deleted 0 expired drafts" in result.output
