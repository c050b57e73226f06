"""A whole-run guard: every log record of the test run is kept and searched for secrets.

Seeded identity, narrative and message strings (tests/seeded.py) and every passphrase the
service generated during the run must never appear in any log record.
"""

from __future__ import annotations

import logging

from tests.seeded import SEEDED_STRINGS


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a malformed record must not break the run; keep its raw parts
            self.lines.append(f"{record.msg!r} {record.args!r}")
        if record.exc_info and record.exc_info[1] is not None:
            self.lines.append(repr(record.exc_info[1]))


HANDLER = RecordingHandler()
GENERATED_PASSPHRASES: set[str] = set()


def install() -> None:
    root = logging.getLogger()
    root.addHandler(HANDLER)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # SQL statements would flood the record; their parameters are sealed bytes anyway and a
    # dedicated test (test_no_seeded_secret_reaches_the_log) switches them on.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    _record_generated_passphrases()


def _record_generated_passphrases() -> None:
    from mediation.vault import passphrases

    original = passphrases.generate_passphrase

    def recording(words: int = 7) -> str:
        phrase = original(words)
        GENERATED_PASSPHRASES.add(phrase)
        return phrase

    passphrases.generate_passphrase = recording  # type: ignore[assignment]
    import mediation.services.complaints as complaints
    import mediation.vault as vault

    vault.generate_passphrase = recording  # type: ignore[assignment]
    complaints.generate_passphrase = recording  # type: ignore[attr-defined]


def leaks() -> list[str]:
    """Secrets found in the run's log, described without repeating them in full."""
    text = "\n".join(HANDLER.lines)
    found = [s[:6] + "…" for s in SEEDED_STRINGS if s in text]
    found += [p.split()[0] + " …(passphrase)" for p in GENERATED_PASSPHRASES if p in text]
    return found
