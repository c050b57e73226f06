"""Casework from the command line: the queue, triage, routing, workflow actions, outcomes,
overdue checks and the email outbox. Each command signs a case officer in (password
prompted) and calls the same services as the browser; nothing here prints case content."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from mediation.commands import outbox
from mediation.commands.officer_sign_in import fail, sign_in_case_officer
from mediation.domain import workflow
from mediation.domain.permissions import CASE_OFFICER
from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import (
    accounts,
    case_access,
    case_clocks,
    case_queue,
    outcomes,
    respondents,
    routing,
    triage,
)
from mediation.services.errors import ServiceError
from mediation.services.workflow import perform

group = AppGroup("cases", help="Casework from the command line.")

officer_option = click.option(
    "--officer", "officer_email", required=True, help="The case officer acting (prompted password)."
)


def _case(user: StaffUser, reference: str) -> Case:
    try:
        return case_access.officer_case_metadata(database(), user, reference)
    except ServiceError as exc:
        fail(str(exc))


@group.command("queue")
@officer_option
@click.option("--view", type=click.Choice(case_queue.VIEWS), default="all")
@click.option("--state", default=None)
@click.option("--category", default=None)
@click.option("--body-type", default=None)
@click.option("--region", default=None, help="Region of the public body.")
def queue(
    officer_email: str,
    view: str,
    state: str | None,
    category: str | None,
    body_type: str | None,
    region: str | None,
) -> None:
    """List the queue, urgent and overdue first (tab-separated)."""
    sign_in_case_officer(officer_email)
    result = case_queue.build_queue(
        database(), case_queue.QueueFilters(view, state, category, body_type, region)
    )
    for row in result.rows:
        flags = [
            name
            for name, on in (
                ("urgent", row.case.urgent),
                ("overdue", row.overdue),
                ("new", row.new),
                ("funding-check-due", bool(row.funding_checks_due)),
            )
            if on
        ]
        due = row.next_deadline.clock.due_on.isoformat() if row.next_deadline else "-"
        body = row.body.name if row.body else "-"
        click.echo(f"{row.case.reference}\t{row.case.state}\t{body}\t{due}\t{','.join(flags)}")
    click.echo(f"{len(result.rows)} cases.", err=True)


@group.command("overdue")
@officer_option
@click.option("--fail-if-any", is_flag=True, help="Exit with status 2 when a case is overdue.")
def overdue(officer_email: str, fail_if_any: bool) -> None:
    """Cases past a service standard, late papers, and funding checks that are due."""
    sign_in_case_officer(officer_email)
    result = case_queue.build_queue(database(), case_queue.QueueFilters())
    late = [r for r in result.rows if r.overdue or r.funding_checks_due]
    for row in late:
        reasons = [f"{s.clock.kind} due {s.clock.due_on}" for s in row.clock_statuses if s.overdue]
        if row.papers_overdue:
            reasons.append("papers late")
        reasons += [
            f"funding check at {c.months} months due {c.due_on}" for c in row.funding_checks_due
        ]
        click.echo(f"{row.case.reference}\t{'; '.join(reasons)}")
    click.echo(f"{len(late)} cases need attention.", err=True)
    if late and fail_if_any:
        sys.exit(2)


@group.command("show")
@officer_option
@click.argument("reference")
def show(officer_email: str, reference: str) -> None:
    """A case's state, clocks and the actions open to a case officer (no content)."""
    user, _ = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    click.echo(f"{case.reference}: {workflow.state_label(case.state)} ({case.openness})")
    rows = case_clocks.clock_rows(database(), case)
    for status in case_clocks.statuses(case, rows):
        click.echo(f"  {status.clock.label}: due {status.clock.due_on} ({status.status})")
    for t in workflow.available_actions(case.state, CASE_OFFICER):
        needs = ", ".join(t.required) or "nothing"
        click.echo(f"  action {t.action}: {t.label} (needs {needs})")


@group.command("triage")
@officer_option
@click.argument("reference")
@click.option("--category", "categories", multiple=True, required=True)
@click.option("--body-id", type=int, required=True, help="The confirmed public body.")
@click.option("--language", default=None)
def triage_command(
    officer_email: str,
    reference: str,
    categories: tuple[str, ...],
    body_id: int,
    language: str | None,
) -> None:
    """Record the breach categories and confirm the public body."""
    user, key = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    try:
        triage.record_triage(
            database(),
            user,
            case,
            categories=list(categories),
            respondent_body_id=body_id,
            language=language,
            officer_key=key,
        )
    except ServiceError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"{case.reference}: assessment saved.")


@group.command("route")
@officer_option
@click.argument("reference")
def route(officer_email: str, reference: str) -> None:
    """The panel ranked for a case, with reasons; and who is left out and why."""
    user, key = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    try:
        ranking = routing.rank_for_case(database(), user, key, case)
    except ServiceError as exc:
        fail(str(exc))
    db.session.commit()
    for p in ranking.proposals:
        click.echo(f"{p.user_id}\t{p.name}\t{p.score}\t{'; '.join(p.reasons)}")
    for e in ranking.excluded:
        click.echo(f"-\t{e.name}\texcluded\t{'; '.join(e.reasons)}")


@group.command("act")
@officer_option
@click.argument("reference")
@click.argument("action")
@click.option("--reason", default="")
@click.option("--decline-reason", type=click.Choice(sorted(workflow.DECLINE_REASONS)))
@click.option("--duplicate-of", default="")
@click.option("--referred-to", type=click.Choice(sorted(workflow.REFERRED_TO)), default=None)
@click.option("--mediator-id", type=int, default=None)
@click.option("--summary", default="", help="Anonymised summary, when offering to a mediator.")
def act(
    officer_email: str,
    reference: str,
    action: str,
    reason: str,
    decline_reason: str | None,
    duplicate_of: str,
    referred_to: str | None,
    mediator_id: int | None,
    summary: str,
) -> None:
    """Perform a case officer's workflow action, exactly as the case page does."""
    user, key = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    session = database()
    try:
        decisions = {v: k for k, v in triage.DECISIONS.items()}
        if action in decisions and case.state == "triage":
            triage.decide(
                session,
                user,
                case,
                decision=decisions[action],
                reason=reason,
                decline_reason=decline_reason or "",
                duplicate_of=duplicate_of,
                referred_to=referred_to or "",
            )
        elif action == "appoint_mediator":
            routing.propose(session, user, key, case, mediator_id=mediator_id or 0, summary=summary)
        elif action == "cancel_appointment":
            routing.cancel(session, user, case, reason)
        elif action == "close":
            outcomes.close_case(session, user, case, reason=reason)
        else:
            fields = {
                "reason": reason,
                "decline_reason": decline_reason or "",
                "duplicate_of": duplicate_of,
                "referred_to": referred_to or "",
            }
            perform(
                session, case, action, accounts.actor_for(user), role=CASE_OFFICER, fields=fields
            )
    except ServiceError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"{case.reference}: now {workflow.state_label(case.state).lower()}.")


@group.command("outcome")
@officer_option
@click.argument("reference")
@click.option("--result", required=True)
@click.option("--remedy", "remedies", multiple=True, help="A remedy id, or payment:AMOUNT.")
@click.option("--sought", multiple=True)
def outcome(
    officer_email: str,
    reference: str,
    result: str,
    remedies: tuple[str, ...],
    sought: tuple[str, ...],
) -> None:
    """Record the standardised outcome."""
    user, _ = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    parsed = []
    for item in remedies:
        remedy_id, _, amount = item.partition(":")
        parsed.append(outcomes.RemedyInput(remedy_id, int(amount) if amount.isdigit() else None))
    try:
        outcomes.record_outcome(
            database(), user, case, result=result, remedies=parsed, sought=list(sought)
        )
    except ServiceError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"{case.reference}: outcome recorded.")


@group.command("invite")
@officer_option
@click.argument("reference")
@click.option("--email", required=True)
@click.option("--name", required=True)
def invite(officer_email: str, reference: str, email: str, name: str) -> None:
    """Invite someone from the case's public body; prints their single-use set-up path.
    Refused until the complainant has approved a disclosure statement."""
    user, _ = sign_in_case_officer(officer_email)
    case = _case(user, reference)
    try:
        created = respondents.invite(database(), user, case, email=email, name=name)
    except ServiceError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"Invited {created.user.email}. Set-up path (single use, 7 days):")
    click.echo(f"  /set-up/{created.setup_token}")


@group.command("send-mail")
@click.option("--officer", "officer_email", default=None, help=outbox.OFFICER_HELP)
def send_mail(officer_email: str | None) -> None:
    """Deliver the email outbox: the same as `flask outbox deliver`."""
    outbox.deliver_and_report(officer_email)
