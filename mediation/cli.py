"""Operator commands: `flask --app mediation <group> <command>`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.commands.officer_sign_in import sign_in_case_officer
from mediation.extensions import database, db
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import (
    accounts,
    api_tokens,
    audit,
    bodies,
    demo,
    demo_cases,
    demo_statistics,
    vault_admin,
)
from mediation.services.audit import Actor
from mediation.services.errors import ServiceError
from mediation.vault import SUITES, VaultError

users_cli = AppGroup("users", help="Manage staff accounts.")
bodies_cli = AppGroup("bodies", help="Manage the list of respondent bodies.")
demo_cli = AppGroup("demo", help="Demonstration data.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")
vault_cli = AppGroup("vault", help="Key ceremonies: first custodian, re-sealing, rotation, purge.")


def _operator() -> Actor:
    return Actor.system("cli")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["case_officer", "mediator", "respondent", "analyst", "admin"]),
)
@click.option("--body-id", type=int, default=None, help="Respondent body id (respondents only).")
@click.option(
    "--set-password",
    is_flag=True,
    help="Choose the password now (prompted) instead of printing a set-up link.",
)
def create_user(email: str, name: str, role: str, body_id: int | None, set_password: bool) -> None:
    """Create a staff account and print its set-up link (or set the password now)."""
    password = None
    if set_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = accounts.create_staff_user(
            database(),
            _operator(),
            email=email,
            name=name,
            role=role,
            respondent_body_id=body_id,
            password=password,
        )
    except ServiceError as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"Created {created.user.email} ({role}), id {created.user.id}.")
    if created.setup_token:
        click.echo(f"Set-up path (single use, 7 days): /set-up/{created.setup_token}")
    if created.recovery_key:
        click.echo("Recovery key (shown once; give it to the user to keep safe):")
        click.echo(f"  {created.recovery_key}")


@users_cli.command("list")
def list_users() -> None:
    """List staff accounts."""
    for user in db.session.execute(select(StaffUser).order_by(StaffUser.id)).scalars():
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.id}\t{user.role}\t{user.email}\t{state}")


@users_cli.command("tokens")
def list_tokens() -> None:
    """List live API tokens: fingerprint, owner, what uses it, made, last used, ends."""
    for row, user in api_tokens.every_live(database(), utcnow()):
        used = row.last_used_on.isoformat() if row.last_used_on else "never"
        click.echo(
            f"{row.id[:12]}\t{user.email}\t{row.label}\t{row.created_at:%Y-%m-%d}\t"
            f"{used}\t{row.expires_at:%Y-%m-%d}"
        )


@users_cli.command("revoke-token")
@click.argument("fingerprint")
def revoke_token(fingerprint: str) -> None:
    """End an API token at once, named by its fingerprint as `users tokens` prints it."""
    try:
        api_tokens.revoke_by_operator(database(), _operator(), fingerprint.strip().lower())
    except ServiceError as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo("Revoked: the token opens nothing now.")


@users_cli.command("deactivate")
@click.argument("user_id", type=int)
def deactivate_user(user_id: int) -> None:
    """Deactivate an account and end its sessions."""
    try:
        accounts.set_active(database(), _operator(), user_id, active=False)
    except ServiceError as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"Deactivated user {user_id}.")


@bodies_cli.command("load")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_bodies(csv_file: Path) -> None:
    """Add or update respondent bodies from a CSV file (name,type,region,...)."""
    try:
        result = bodies.load_bodies_csv(
            database(), _operator(), csv_file.read_text(encoding="utf-8-sig")
        )
    except ServiceError as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"{result.added} bodies added, {result.updated} updated.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when staff accounts already exist.")
def load_demo(if_empty: bool) -> None:
    """Load the demonstration data: bodies, staff accounts, the mediator panel."""
    if if_empty and db.session.execute(select(StaffUser.id).limit(1)).first() is not None:
        click.echo("Demo data: database already has data; nothing loaded.")
        return
    summary = demo.load_demo(database())
    db.session.commit()
    summary += "; " + demo_cases.load(database())
    db.session.commit()
    summary += "; " + demo_statistics.load(database())
    db.session.commit()
    click.echo(f"Demo data loaded: {summary}.")


@audit_cli.command("anchor")
@click.option(
    "--append",
    "append_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the line to this file (keep it off this server's database).",
)
def anchor_audit(append_to: Path | None) -> None:
    """Print the chain's head as one line to keep outside the database (run it from cron
    and send the line elsewhere); `audit verify --anchors` checks the log still holds it."""
    line = audit.current_anchor(database()).line()
    click.echo(line)
    if append_to is not None:
        with append_to.open("a", encoding="utf-8") as kept:
            kept.write(line + "\n")


@audit_cli.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of lines printed by `audit anchor`: the log must still hold each one.",
)
def verify_audit(anchors_file: Path | None) -> None:
    """Check the audit chain; name the first edited, inserted or deleted entry."""
    anchors: list[audit.Anchor] = []
    if anchors_file is not None:
        try:
            anchors = audit.parse_anchors(anchors_file.read_text(encoding="utf-8").splitlines())
        except ValueError as exc:
            raise click.ClickException(f"{anchors_file}: {exc}") from None
    result = audit.verify(database(), anchors=anchors)
    if result.ok:
        held = f"; all {len(anchors)} anchors held" if anchors else ""
        click.echo(f"Audit log intact: {result.checked} entries checked{held}.")
        return
    click.echo(f"Audit log TAMPERED at entry {result.first_bad_seq}: {result.problem}", err=True)
    sys.exit(1)


@vault_cli.command("init")
@click.option("--email", required=True)
@click.option("--name", required=True)
def vault_init(email: str, name: str) -> None:
    """Key ceremony: create the first case officer, the first custodian of every case key."""
    password = click.prompt("Choose a password", hide_input=True, confirmation_prompt=True)
    try:
        created = vault_admin.init_ceremony(database(), email=email, name=name, password=password)
    except ServiceError as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"Custodian {created.user.email} created (id {created.user.id}).")
    click.echo("Recovery key (shown once; print it and lock it away):")
    click.echo(f"  {created.recovery_key}")


@vault_cli.command("reseal-user")
@click.option("--officer", "officer_email", required=True, help="A case officer (custodian).")
@click.argument("user_email")
def vault_reseal_user(officer_email: str, user_email: str) -> None:
    """Give a user their case keys again after a lost password, or a new custodian all keys."""
    officer, keypair = sign_in_case_officer(officer_email)
    user = accounts.find_by_email(database(), user_email)
    if user is None:
        _fail("There is no user with that email address.")
        return
    try:
        result = vault_admin.reseal_for_user(database(), officer, keypair, user)
    except (ServiceError, VaultError) as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"Re-sealed {result.grants} keys on {result.cases} cases to {user.email}.")


@vault_cli.command("rotate")
@click.option("--officer", "officer_email", required=True, help="A case officer (custodian).")
@click.option("--suite", default=None, help="x25519 or mlkem768-x25519 (default: the setting).")
def vault_rotate(officer_email: str, suite: str | None) -> None:
    """New key pairs for every live case; every sealed field and key re-sealed."""
    officer, keypair = sign_in_case_officer(officer_email)
    chosen = suite or str(current_app.config["VAULT_SUITE"])
    if chosen not in SUITES:
        _fail(f"Unknown suite {chosen}; choose one of {', '.join(SUITES)}.")
    try:
        count = vault_admin.rotate(database(), officer, keypair, chosen)
    except (ServiceError, VaultError) as exc:
        db.session.rollback()
        _fail(str(exc))
        return
    db.session.commit()
    click.echo(f"Rotated the keys of {count} cases to {chosen}.")


@vault_cli.command("purge-expired")
def vault_purge_expired() -> None:
    """Destroy the sealed keys and contents of cases closed longer than the retention period."""
    purged = vault_admin.purge_expired(database())
    db.session.commit()
    click.echo(f"Destroyed the keys of {len(purged)} cases.")


def register_cli(app: Flask) -> None:
    from mediation.commands import backup, casework, intake, outbox, statistics

    for group in (
        users_cli,
        bodies_cli,
        demo_cli,
        audit_cli,
        vault_cli,
        intake.group,
        casework.group,
        outbox.group,
        statistics.group,
        backup.group,
    ):
        app.cli.add_command(group)
