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
