"""Filing a complaint: from the form's draft, the JSON API or the CLI, sealed to the case key."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from mediation.domain.taxonomy import UnknownReferenceError, load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseDocument
from mediation.models.intake import CaseBreach, Draft
from mediation.models.time import utcnow
from mediation.services import (
    case_clocks,
    case_keys,
    complaints,
    drafts,
    intake_bodies,
    notifications,
    statistical_records,
)
from mediation.services.audit import Actor, Entry, record_all
from mediation.services.case_keys import case_sealing_key, field_context
from mediation.services.complaints import Filed
from mediation.services.drafts import OPEN, SUBMITTED, DraftTicket, receipt_context
from mediation.services.intake_rules import (
    Complaint,
    IntakeInvalid,
    Upload,
    parse_complaint,
    row_id,
)
from mediation.vault import VaultError, decrypt_symmetric, encrypt_symmetric, seal

# The pages of the web form, in order. "about" is skipped for an anonymous complaint.
STEPS = (
    "openness",
    "body",
    "breaches",
    "what_happened",
    "steps",
    "outcome",
    "impact",
    "documents",
    "about",
)
# Which page asks for each field of the JSON shape, to send the complainant back to it.
STEP_OF_FIELD = {
    "openness": "openness",
    "respondent_body": "body",
    "breaches": "breaches",
    "what_happened": "what_happened",
    "when": "what_happened",
    "raised_with_body": "steps",
    "steps_taken": "steps",
    "outcome_sought": "outcome",
    "impact": "impact",
    "identity": "about",
    "documents": "documents",
}


def step_of(path: str) -> str:
    top = path.split(".", 1)[0].split("[", 1)[0]
    return STEP_OF_FIELD.get(top, "openness")


def steps_for(openness: str | None) -> tuple[str, ...]:
    return tuple(s for s in STEPS if not (s == "about" and openness == "anonymous"))


def search_bodies(
    session: Session, text: str, *, include_ids: list[int] | None = None, limit: int = 25
) -> list[RespondentBody]:
    """Bodies on our list whose name contains the text, plus any asked for by id.

    Only confirmed bodies: a body that a complainant named would otherwise tell the next
    visitor that someone has complained about it.
    """
    found: dict[int, RespondentBody] = {}
    if include_ids:
        for body in session.execute(
            select(RespondentBody).where(
                RespondentBody.id.in_(include_ids), RespondentBody.confirmed.is_(True)
            )
        ).scalars():
            found[body.id] = body
    words = [w for w in text.lower().split() if w]
    if words:
        query = select(RespondentBody).where(RespondentBody.confirmed.is_(True))
        for word in words[:6]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(func.lower(RespondentBody.name).like(f"%{escaped}%", escape="\\"))
        for body in session.execute(query.order_by(RespondentBody.name).limit(limit)).scalars():
            found.setdefault(body.id, body)
    return list(found.values())


def _resolve_body(session: Session, complaint: Complaint) -> RespondentBody:
    """The body complained about: one on our list, or the placeholder of the type named.

    A name that is not on our list is never stored in the clear: it stays only in the
    sealed narrative, and the case waits against its type's placeholder until a case
    officer confirms the real body at triage (services/intake_bodies.py).
    """
    if complaint.respondent_body_id is not None:
        body = session.get(RespondentBody, complaint.respondent_body_id)
        if body is None or not body.confirmed:
            raise IntakeInvalid({"respondent_body.id": "There is no body with this number."})
        return body
    assert complaint.named_body is not None
    named = complaint.named_body
    listed = (
        session.execute(
            select(RespondentBody)
            .where(
                func.lower(RespondentBody.name) == named.name.lower(),
                RespondentBody.confirmed.is_(True),
            )
            .order_by(RespondentBody.id)
            .limit(1)
        )
        .scalars()
        .first()
    )
    if listed is not None:
        return listed
    if named.body_type is None:
        raise IntakeInvalid(
            {"respondent_body.type": "This body is not on our list: say what kind of body it is."}
        )
    return intake_bodies.placeholder_for(session, named.body_type)


def submit_complaint(session: Session, complaint: Complaint, *, channel: str) -> Filed:
    """Seal and file a valid complaint with its breaches, documents and statistical record.

    Caller commits once; on any error the caller rolls back and nothing is kept.
    """
    body = _resolve_body(session, complaint)
    identity = complaint.identity.to_dict() if complaint.identity else None
    # Read once: the custodians the case is sealed to are among the officers told of it.
    officers, custodians = case_keys.case_officers_and_custodians(session)
    filed = complaints.seal_new_case(
        session,
        openness=complaint.openness,
        narrative=complaint.narrative(),
        identity=identity,
        respondent_body_id=body.id,
        custodians=custodians,
    )
    case = filed.case
    for position, breach in enumerate(complaint.breaches):
        session.add(
            CaseBreach(
                case_id=case.id,
                position=position,
                category=breach.category,
                paragraph_key=breach.paragraph,
            )
        )
    for upload in complaint.documents:
        attach_document(session, case, upload, uploaded_by="complainant")
    statistical_records.record_at_intake(
        session,
        case,
        categories=[b.category for b in complaint.breaches],
        body_type=body.body_type,
        region=complaint.identity.region if complaint.identity else None,
        size_band=complaint.identity.size_band if complaint.identity else None,
        just_filed=True,
    )
    # The service-standard clocks run from the day of filing, and the case officers hear
    # (by an email with no case content) that a new complaint has arrived.
    case_clocks.start_at_filing(session, case)
    notifications.notify(
        session, case, "case_officers", "new_case", actor=Actor.complainant(), officers=officers
    )
    # Both entries last, in one write of the audit log's head: the head's lock is held for
    # the least time, and taken after any case lock (a document's, above).
    record_all(
        session,
        Actor.complainant(),
        [
            Entry("case.submitted", case_reference=case.reference),
            Entry(
                "case.intake_received",
                case_reference=case.reference,
                details={
                    "channel": channel,
                    "breaches": len(complaint.breaches),
                    "documents": len(complaint.documents),
                    "body_listed": body.confirmed,
                },
            ),
        ],
    )
    return replace(
        filed,
        cleaned=tuple((u.name, u.cleaning) for u in complaint.documents if u.cleaning),
    )


def attach_document(session: Session, case: Case, upload: Upload, *, uploaded_by: str) -> None:
    """Seal a document's name, contents and what was removed from it to the case key
    (rotation re-seals all three). The upload is already cleaned (intake_documents)."""
    if case.case_public_key is None:
        raise IntakeInvalid({"documents": "This case is closed and its records destroyed."})
    public = case_sealing_key(session, case)  # the case lock before the row
    document = CaseDocument(case_id=case.id, uploaded_by=uploaded_by, uploaded_on=utcnow().date())
    session.add(document)
    session.flush()
    document.name = seal(
        upload.name.encode("utf-8"), public, field_context(case, f"document:{document.id}:name")
    )
    document.content = seal(
        upload.content, public, field_context(case, f"document:{document.id}:content")
    )
    if upload.cleaning is not None:
        document.cleaning = seal(
            upload.cleaning.to_json().encode("utf-8"),
            public,
            field_context(case, f"document:{document.id}:cleaning"),
        )


def complaint_from_json(data: Any, *, max_document_bytes: int) -> Complaint:
    """The API's and the CLI's way in: the same rules as the web form."""
    return parse_complaint(data, max_document_bytes=max_document_bytes)


def submission_from_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Turn the form's saved pages into the JSON shape that `parse_complaint` checks."""

    def page(step: str) -> dict[str, Any]:
        value = answers.get(step)
        return value if isinstance(value, dict) else {}

    openness = page("openness").get("openness") or None
    body = page("body")
    respondent_body: dict[str, Any] | None = None
    if body.get("body_id") == "not_listed":
        respondent_body = {"name": body.get("body_name", ""), "type": body.get("body_type") or None}
    elif (chosen := row_id(body.get("body_id"))) is not None:
        respondent_body = {"id": chosen}
    steps = page("steps")
    submission: dict[str, Any] = {
        "openness": openness,
        "respondent_body": respondent_body,
        "breaches": breaches_from_page(page("breaches")),
        "what_happened": page("what_happened").get("what_happened", ""),
        "when": page("what_happened").get("when", ""),
        "raised_with_body": {"yes": True, "no": False}.get(steps.get("raised_with_body", "")),
        "steps_taken": steps.get("steps_taken", ""),
        "outcome_sought": page("outcome").get("outcome_sought", ""),
        "impact": page("impact").get("impact", ""),
    }
    if openness != "anonymous":
        about = page("about")
        submission["identity"] = {
            key: about.get(key, "")
            for key in ("organisation", "contact_name", "email", "phone", "region", "size_band")
        }
        submission["identity"]["email_updates"] = about.get("email_updates") is True
    return submission


def breaches_from_page(page: dict[str, Any]) -> list[dict[str, Any]]:
    """Checked categories, the chosen paragraph and the free reference, as breach claims.

    The paragraph joins the claim of its own category (added if not checked); the free
    reference goes with a local-clause claim, else the paragraph's claim, else the first.
    """
    taxonomy = load_taxonomy()
    claims: list[dict[str, Any]] = [
        {"category": c} for c in page.get("categories", []) if isinstance(c, str) and c
    ]
    paragraph = page.get("paragraph") or None
    if isinstance(paragraph, str):
        try:
            category = taxonomy.paragraph_by_key(paragraph).category
        except UnknownReferenceError:
            category = ""
        target = next((c for c in claims if c["category"] == category), None)
        if target is None:
            target = {"category": category}
            claims.append(target)
        target["paragraph"] = paragraph
    reference = str(page.get("reference") or "").strip()
    if reference:
        target = next(
            (c for c in claims if c["category"] == "local_clause"),
            next((c for c in claims if "paragraph" in c), claims[0] if claims else None),
        )
        if target is None:
            claims.append({"category": "local_clause", "reference": reference})
        else:
            target["reference"] = reference
    return claims


@dataclass(frozen=True)
class Receipt:
    """What the receipt page shows, once."""

    reference: str
    passphrase: str


class AlreadySubmitted(Exception):
    """This draft was submitted already (a double click): show its receipt, file nothing."""


def submit_draft(
    session: Session, ticket: DraftTicket | None, now: datetime, *, max_document_bytes: int
) -> Filed:
    """File the draft as a complaint, exactly once, and keep its receipt for one showing.

    The draft is claimed with a conditional UPDATE, so two submits racing for the same
    draft cannot both file: the second waits for the first's row lock and finds it taken
    (AlreadySubmitted). Caller commits, or rolls back on an error, which releases the claim.
    """
    draft = drafts.find(session, ticket, now)
    if draft is None or ticket is None:
        raise drafts.DraftMissing()
    saved = drafts.answers(session, ticket, now) if draft.status == OPEN else {}
    result = session.execute(
        update(Draft)
        .where(Draft.id == ticket.draft_id, Draft.status == OPEN)
        .values(status=SUBMITTED)
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], result).rowcount
    if claimed != 1:
        raise AlreadySubmitted()
    session.refresh(draft)
    complaint = parse_complaint(
        submission_from_answers(saved), max_document_bytes=max_document_bytes
    )
    complaint = replace(complaint, documents=tuple(drafts.documents_of(draft, ticket)))
    filed = submit_complaint(session, complaint, channel="web")
    draft.receipt = encrypt_symmetric(
        json.dumps({"reference": filed.reference, "passphrase": filed.passphrase}).encode("utf-8"),
        ticket.key,
        receipt_context(draft.id),
    )
    # The answers and files now live sealed in the case; the draft keeps only the receipt.
    draft.answers = None
    draft.documents.clear()
    return filed


def take_receipt(session: Session, ticket: DraftTicket | None, now: datetime) -> Receipt | None:
    """The reference and passphrase of a just-filed complaint, once; then the draft is gone.

    Caller commits (the deletion is what makes the receipt show only once).
    """
    draft = drafts.find(session, ticket, now)
    if draft is None or ticket is None or draft.status != SUBMITTED or draft.receipt is None:
        return None
    try:
        data = json.loads(decrypt_symmetric(draft.receipt, ticket.key, receipt_context(draft.id)))
    except VaultError:
        return None
    drafts.discard(session, ticket)
    return Receipt(reference=data["reference"], passphrase=data["passphrase"])
