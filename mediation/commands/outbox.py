"""The email outbox from the command line: `flask outbox deliver`, run from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from mediation.commands.officer_sign_in import fail, sign_in_case_officer
from mediation.extensions import database, db
from mediation.services import notifications

group = AppGroup("outbox", help="The email outbox.")

OFFICER_HELP = "A case officer, so that complainants' emails can be addressed too."


def deliver_and_report(officer_email: str | None) -> None:
    """Send what is due now, commit, and say what happened (shared with `cases send-mail`)."""
    key = sign_in_case_officer(officer_email)[1] if officer_email else None
    if not notifications.mail_configured():
        fail("MAIL_SERVER is not set.")
    report = notifications.deliver_pending(database(), officer_key=key)
    db.session.commit()
    click.echo(
        f"{report.sent} sent, {report.skipped} skipped, {report.failed} failed, "
        f"{report.waiting} waiting for a case officer."
    )


@group.command("deliver")
@click.option("--officer", "officer_email", default=None, help=OFFICER_HELP)
def deliver(officer_email: str | None) -> None:
    """Send the emails that are due (run from cron, every few minutes).

    What a complainant's act caused is due only after its random delay; a failed email is
    tried again by a later run, up to 5 times. Without --officer, staff emails only.
    """
    deliver_and_report(officer_email)
