"""Backups from the command line: a consistent copy while the service runs, and its
restore into a new, empty database (README, Backups)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import inspect

from mediation.extensions import database, db
from mediation.services import backups, vault_admin

group = AppGroup("backup", help="Back up the database, and restore a backup.")


@group.command("create")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def create(destination: Path) -> None:
    """Write a consistent backup of the database to DESTINATION (a new file) while the
    service runs: SQLite's online backup API, or pg_dump -Fc on PostgreSQL."""
    try:
        made = backups.create(current_app.config["SQLALCHEMY_DATABASE_URI"], destination)
    except backups.BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Backup written: {made.path} ({made.size:,} bytes, {made.method}).")


@group.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Load the backup SOURCE into the configured database, which must be new and empty
    (PostgreSQL: `createdb` it first). Then brings its schema up to the code's, draws the
    queue's token afresh and destroys the keys of every case past retention (G9)."""
    from flask_migrate import upgrade

    try:
        backups.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], source, db.engine)
    except backups.BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    try:
        # The retention purge below reads the tables as the code knows them: a backup made
        # by an older version is brought up to date first (nothing to do when it is as new).
        upgrade()
        # A backup older than migration 0020 had no queue version: the upgrade made one
        # with a token of its own.
        if inspect(db.engine).has_table("queue_version"):
            backups.new_queue_token(database())
            db.session.commit()
        # The backup still holds the sealed keys of cases shredded since it was made (and
        # of cases that passed their retention since): shredded again before anyone can
        # open them.
        purged = vault_admin.purge_expired(database())
        db.session.commit()
    except Exception:
        db.session.rollback()
        click.echo(
            f"Error: {source} was loaded, but the cases past retention were NOT destroyed "
            "again. Do not start the workers: run `flask db upgrade` and `flask vault "
            "purge-expired` first.",
            err=True,
        )
        raise
    click.echo(f"Restored {source}.")
    click.echo(f"Retention: destroyed the keys of {len(purged)} cases closed past retention.")
    click.echo("Next: `flask audit verify`; then start the workers.")
