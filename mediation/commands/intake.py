"""Complaints from the command line: file one from a JSON file, purge what has expired."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from mediation.extensions import database, db
from mediation.models.time import utcnow
from mediation.services import (
    api_tokens,
    complainant_sessions,
    drafts,
    intake,
    intake_idempotency,
    staff_sessions,
)
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import IntakeInvalid

group = AppGroup("complaints", help="Complaints from the command line.")


@group.command("file")
@click.argument("json_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def file_complaint(json_file: Path) -> None:
    """File a complaint from a JSON file (API shape); print its reference and passphrase once."""
    try:
        data = json.loads(json_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        click.echo(f"Error: {json_file} is not a JSON file ({type(exc).__name__}).", err=True)
        sys.exit(1)
    try:
        complaint = intake.complaint_from_json(
            data, max_document_bytes=int(current_app.config["MAX_DOCUMENT_BYTES"])
        )
        filed = intake.submit_complaint(database(), complaint, channel="cli")
    except IntakeInvalid as exc:
        db.session.rollback()
        click.echo("Error: the complaint is not complete or not valid:", err=True)
        for path, message in exc.errors.items():
            click.echo(f"  {path or '(document)'}: {message}", err=True)
        sys.exit(1)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    # Printed once, to the operator's terminal only: never logged, never stored readable.
    click.echo(f"Reference:  {filed.reference}")
    click.echo(f"Passphrase: {filed.passphrase}")
    # What was removed from each document (by its place in the file, not its name).
    for number, (_, note) in enumerate(filed.cleaned, start=1):
        click.echo(f"Document {number}: {note.summary}")
    click.echo("Give both to the complainant now: they cannot be shown again.")


@group.command("purge")
def purge() -> None:
    """Delete expired drafts, idle complainant sessions, old sign-in failures, API keys,
    ended staff sessions and expired API tokens."""
    now = utcnow()
    removed = drafts.purge_expired(database(), now)
    sessions = complainant_sessions.purge_expired(database(), now)
    keys = intake_idempotency.purge_expired(database(), now)
    staff = staff_sessions.purge_expired(database(), now)
    tokens = api_tokens.purge_expired(database(), now)
    db.session.commit()
    click.echo(
        f"Deleted {removed} expired drafts, {sessions} idle complainant sessions "
        f"and {keys} expired API idempotency keys."
    )
    click.echo(f"Deleted {staff} ended staff sessions and {tokens} expired API tokens.")
