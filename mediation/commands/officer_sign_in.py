"""Signing a case officer in on the command line: commands that open sealed data need their
key, unlocked with their password (prompted, never an argument, so it is in no shell
history or process list)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from mediation.domain.permissions import CASE_OFFICER
from mediation.extensions import database, db
from mediation.models.staff import StaffUser
from mediation.services import accounts, keyring
from mediation.services.errors import ServiceError
from mediation.vault import KeyPair, VaultError

NOT_AN_OFFICER = "That account is not a case officer with a key."


def fail(message: str) -> NoReturn:
    """Undo the command's changes, say why on stderr and exit with status 1."""
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def sign_in_case_officer(email: str, refusal: str = NOT_AN_OFFICER) -> tuple[StaffUser, KeyPair]:
    """Ask for the officer's password; return the account and its unlocked key, or fail."""
    password = click.prompt(f"Password for {email}", hide_input=True)
    try:
        user = accounts.authenticate(database(), email, password)
        keypair = keyring.unlock(database(), user, password)
    except (ServiceError, VaultError) as exc:
        fail(str(exc))
    if keypair is None or user.role != CASE_OFFICER:
        fail(refusal)
    return user, keypair
