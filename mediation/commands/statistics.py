"""Statistics releases: `flask --app mediation stats publish|correct|list|verify|budget`."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from mediation.commands.officer_sign_in import sign_in_case_officer
from mediation.extensions import database, db
from mediation.services.errors import ServiceError
from mediation.services.statistics_open_data import all_releases
from mediation.services.statistics_releases import (
    DEFAULT_DP_BUDGET,
    PrivacySettings,
    budget_spent,
    publish_release,
)
from mediation.vault import VaultError

group = AppGroup("stats", help="Statistics releases.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def privacy_settings(epsilon: float | None) -> PrivacySettings:
    """The command's --epsilon, else the STATISTICS_DP_EPSILON setting (none: no noise)."""
    chosen = epsilon if epsilon is not None else current_app.config.get("STATISTICS_DP_EPSILON")
    budget = float(current_app.config.get("STATISTICS_DP_BUDGET", DEFAULT_DP_BUDGET))
    return PrivacySettings(None if chosen is None else float(chosen), budget)


def _publish(
    period: str, officer_email: str, epsilon: float | None, note: str | None, correction: bool
) -> None:
    officer, keypair = sign_in_case_officer(
        officer_email,
        "Only a case officer (a custodian of the statistics key) can publish statistics.",
    )
    bars: list[Any] = []

    def start(total: int) -> None:
        bar = click.progressbar(length=total, label=f"Opening {total} statistical records")
        bar.__enter__()
        bars.append(bar)

    def step(done: int) -> None:
        bars[-1].update(done)

    try:
        release = publish_release(
            database(),
            officer,
            keypair,
            period,
            note=note,
            correction=correction,
            privacy=privacy_settings(epsilon),
            progress_total=start,
            progress=step,
        )
    except (ServiceError, VaultError) as exc:
        db.session.rollback()
        for bar in bars:
            bar.__exit__(None, None, None)
        _fail(str(exc))
        return
    for bar in bars:
        bar.__exit__(None, None, None)
    db.session.commit()
    click.echo(f"Published {release.release_id}  sha256 {release.sha256}")
    if release.epsilon is not None:
        click.echo(f"Privacy budget spent: epsilon {release.epsilon:.3f} of {release.budget_year}.")


@group.command("publish")
@click.option("--period", required=True, help="A closed calendar quarter (2026-Q3) or year (2026).")
@click.option("--officer", "officer_email", required=True, help="A case officer's email.")
@click.option(
    "--epsilon",
    type=float,
    default=None,
    help="Add differential-privacy noise to the national series, spending this epsilon.",
)
def publish(period: str, officer_email: str, epsilon: float | None) -> None:
    """Compute and publish the release for a closed calendar quarter or year."""
    _publish(period, officer_email, epsilon, None, correction=False)


@group.command("correct")
@click.option("--period", required=True, help="The period whose release is corrected.")
@click.option("--note", required=True, help="What changed and why (published with it).")
@click.option("--officer", "officer_email", required=True, help="A case officer's email.")
@click.option("--epsilon", type=float, default=None, help="As for publish.")
def correct(period: str, note: str, officer_email: str, epsilon: float | None) -> None:
    """Publish a corrected version of a release; the earlier version stays in the archive."""
    _publish(period, officer_email, epsilon, note, correction=True)


@group.command("list")
def list_releases() -> None:
    """List every release and version, newest period first."""
    try:
        releases = all_releases(database())
    except ServiceError as exc:
        _fail(str(exc))
        return
    if not releases:
        click.echo("No release has been published yet.")
        return
    for release in releases:
        state = "current" if release.is_current else f"superseded by {release.superseded_by}"
        noise = "" if release.epsilon is None else f"\tepsilon {release.epsilon:.3f}"
        click.echo(
            f"{release.id}\t{release.published_on.isoformat()}\t{release.sha256}\t{state}{noise}"
        )
        if release.note:
            click.echo(f"\tnote: {release.note}")


@group.command("verify")
def verify() -> None:
    """Check every release against its SHA-256."""
    try:
        releases = all_releases(database())
    except ServiceError as exc:
        _fail(str(exc))
        return
    click.echo(f"All {len(releases)} releases match their SHA-256.")


@group.command("budget")
@click.option("--year", type=int, required=True)
def budget(year: int) -> None:
    """How much of a year's differential-privacy budget the releases have spent."""
    total = privacy_settings(None).budget
    spent = budget_spent(database(), year)
    click.echo(
        f"{year}: epsilon {spent:.3f} spent of {total:.3f}; {max(0.0, total - spent):.3f} left."
    )
