"""The sections of a case that case officers and mediators share: the disclosure statement,
messages, notes, documents and the standardised outcome form.

Each blueprint keeps its own routes, with its own permission and its own way of finding
the case (a case officer's any case, a mediator's only their own); they hand the case to
the handlers here, with the page to return to.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, make_response, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.models.casework import Outcome
from mediation.services import (
    case_access,
    case_files,
    disclosure_statements,
    mediation_work,
    outcomes,
)
from mediation.services.errors import ServiceError
from mediation.web.access import current_keypair, signed_in_user
from mediation.web.casework.forms import MessageForm, NoteForm, OutcomeForm, StatementForm
from mediation.web.downloads import attachment


@dataclass(frozen=True)
class CasePage:
    """The page a section's form returns to: the case officer's case page
    ("casework.case") or the mediator's workspace ("mediator.case")."""

    endpoint: str

    def back(self, reference: str, anchor: str = "") -> Response:
        return redirect(url_for(self.endpoint, reference=reference) + anchor)

    def refused(self, exc: ServiceError, reference: str, anchor: str = "") -> Response:
        """Undo what the refused action began and say why, on the page; a case they may
        not have is the same bare 404 as one that does not exist (G11)."""
        db.session.rollback()
        if isinstance(exc, case_access.CaseNotFound):
            abort(404)
        flash(str(exc), "error")
        return self.back(reference, anchor)

    def first_error(self, form: FlaskForm, reference: str, anchor: str = "") -> Response:
        """Back to the page with the form's first error (the forms here are short)."""
        first = next(iter(form.errors.values()), None)
        flash(first[0] if first else "Check what you entered and try again.", "error")
        return self.back(reference, anchor)


def save_statement(page: CasePage, case: Case) -> Response:
    form = StatementForm()
    if not form.validate_on_submit():
        return page.first_error(form, case.reference, "#statement")
    try:
        disclosure_statements.save_draft(database(), signed_in_user(), case, form.text.data or "")
    except ServiceError as exc:
        return page.refused(exc, case.reference, "#statement")
    db.session.commit()
    flash("Draft saved. Send it to the complainant when it is ready.", "success")
    return page.back(case.reference, "#statement")


def send_statement(page: CasePage, case: Case) -> Response:
    try:
        disclosure_statements.send_for_approval(database(), signed_in_user(), case)
    except ServiceError as exc:
        return page.refused(exc, case.reference, "#statement")
    db.session.commit()
    flash("Sent to the complainant to read and approve.", "success")
    return page.back(case.reference, "#statement")


def send_message(page: CasePage, case: Case) -> Response:
    form = MessageForm()
    if not form.validate_on_submit():
        return page.first_error(form, case.reference, "#messages")
    try:
        mediation_work.send_message(
            database(), signed_in_user(), case, form.audience.data or "", form.text.data or ""
        )
    except ServiceError as exc:
        return page.refused(exc, case.reference, "#messages")
    db.session.commit()
    flash("Message sent.", "success")
    return page.back(case.reference, "#messages")


def add_note(page: CasePage, case: Case) -> Response:
    form = NoteForm()
    if not form.validate_on_submit():
        return page.first_error(form, case.reference, "#notes")
    try:
        mediation_work.add_note(database(), signed_in_user(), case, form.text.data or "")
    except ServiceError as exc:
        return page.refused(exc, case.reference, "#notes")
    db.session.commit()
    flash("Note added.", "success")
    return page.back(case.reference, "#notes")


def download_document(page: CasePage, reference: str, document_id: int) -> Response:
    """A sealed document, opened with the signed-in user's key (a POST, so that no link or
    history holds it); the service checks that they may open it, and audits it."""
    try:
        opened = case_files.open_document(
            database(), signed_in_user(), current_keypair(), reference, document_id
        )
    except ServiceError as exc:
        return page.refused(exc, reference, "#documents")
    db.session.commit()  # the audit entry for opening it
    response = make_response(opened.content)
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["Content-Disposition"] = attachment(opened.name)
    return response


def outcome_form(existing: Outcome | None) -> OutcomeForm:
    """The outcome form, filled in with the outcome recorded so far (by either role), so
    that saving it again keeps what the other recorded."""
    if existing is None:
        return OutcomeForm()
    return OutcomeForm(
        data={
            "result": existing.result,
            "remedies": [r["id"] for r in existing.remedies],
            "payment_amount": next(
                (r.get("amount") for r in existing.remedies if r.get("amount")), None
            ),
            "sought": existing.sought,
            "relationship_before": str(existing.relationship_before or ""),
            "relationship_after": str(existing.relationship_after or ""),
        }
    )


def save_outcome(form: OutcomeForm, case: Case) -> str | None:
    """Record the outcome from a valid form and commit; or roll back and return why not."""
    taxonomy = load_taxonomy()
    remedies = [
        outcomes.RemedyInput(
            remedy_id,
            form.payment_amount.data if taxonomy.remedy(remedy_id).has_amount else None,
        )
        for remedy_id in form.remedies.data or []
    ]
    try:
        outcomes.record_outcome(
            database(),
            signed_in_user(),
            case,
            result=form.result.data or "",
            remedies=remedies,
            sought=list(form.sought.data or []),
            relationship_before=_rating(form.relationship_before.data),
            relationship_after=_rating(form.relationship_after.data),
        )
    except ServiceError as exc:
        db.session.rollback()
        return str(exc)
    db.session.commit()
    return None


def _rating(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
