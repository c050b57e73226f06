"""Operator commands: users, bodies, demo data."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services.demo import DEMO_ACCOUNTS


def test_demo_load_creates_bodies_accounts_and_panel(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        bodies = db.session.execute(select(func.count()).select_from(RespondentBody)).scalar()
        assert bodies and bodies >= 100
        for account in DEMO_ACCOUNTS:
            user = db.session.execute(
                select(StaffUser).where(StaffUser.email == account.email)
            ).scalar_one()
            assert user.role == account.role and user.is_demo
        panel = db.session.execute(select(func.count()).select_from(MediatorProfile)).scalar()
        assert panel and panel >= 10
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "nothing loaded" in again.output


def test_bodies_load_reports_bad_rows_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bodies.csv"
    bad.write_text(
        "name,type,region,local_authority_kind,compact\n"
        "Good Body,central_department,national,,national\n"
        "Bad Body,spaceship,north_west,,national\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["bodies", "load", str(bad)])
    assert result.exit_code == 1
    assert "3" in result.output  # the line number of the bad row
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(RespondentBody)).scalar() == 0


def test_users_create_prints_a_set_up_link(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New.Officer@Example.org",
            "--name",
            "New Officer",
            "--role",
            "case_officer",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "/set-up/" in result.output
    with app.app_context():
        user = db.session.execute(
            select(StaffUser).where(StaffUser.email == "new.officer@example.org")
        ).scalar_one()
        assert user.password_hash is None


def test_users_create_refuses_a_respondent_without_a_body(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "--email", "r@example.org", "--name", "R", "--role", "respondent"]
    )
    assert result.exit_code == 1
    assert "Choose the body" in result.output


def test_set_up_link_lets_the_user_choose_a_password(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--name", "A", "--role", "analyst"]
    )
    path = next(line.split(": ", 1)[1] for line in result.output.splitlines() if "/set-up/" in line)
    client = app.test_client()
    page = client.post(path, data={"password": "short", "confirm": "short"})
    assert "12 characters or more" in page.text
    page = client.post(
        path, data={"password": "a long enough pass phrase", "confirm": "a long enough pass phrase"}
    )
    assert page.status_code == 200
    assert "recovery key" in page.text.lower()
    # Single use.
    assert client.get(path).status_code == 404
