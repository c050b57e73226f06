"""The whole-run log guard notices a secret in any log record."""

from __future__ import annotations

import logging

from tests import log_guard, seeded


def test_the_log_guard_notices_a_seeded_secret() -> None:
    before = len(log_guard.HANDLER.lines)
    logging.getLogger("mediation.test").warning("harmless line")
    assert log_guard.leaks() == []
    log_guard.HANDLER.lines.append(f"oops {seeded.IDENTITY['contact_name']}")
    try:
        assert log_guard.leaks() != []
    finally:
        del log_guard.HANDLER.lines[before:]
    assert log_guard.leaks() == []


def test_the_log_guard_knows_generated_passphrases(app, make_staff) -> None:  # type: ignore[no-untyped-def]
    from mediation.extensions import db
    from mediation.services import complaints

    make_staff("case_officer")
    with app.app_context():
        filed = complaints.file_complaint(
            db.session,
            openness="anonymous",
            narrative="x",
            identity=None,
            respondent_body_id=None,
        )
    assert filed.passphrase in log_guard.GENERATED_PASSPHRASES


def test_a_database_error_does_not_carry_the_values_sent(app) -> None:  # type: ignore[no-untyped-def]
    """An error that reaches a log names the statement, never the values bound to it."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from mediation.extensions import db

    secret = seeded.IDENTITY["contact_name"]
    with app.app_context(), pytest.raises(DBAPIError) as caught:
        db.session.execute(text("SELECT * FROM no_such_table WHERE name = :n"), {"n": secret})
    assert secret not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
