"""The casework's own sealed and readable fields at key rotation and at end of retention:
re-sealed with the case's new key, or destroyed with the case's keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.casework import (
    CaseNote,
    DisclosureStatement,
    MediationSession,
    MediatorOffer,
    RespondentMessage,
)
from mediation.services import case_keys
from mediation.services.case_keys import CASE_KEY, field_context
from mediation.services.keyring import active_key, public_key_of
from mediation.vault import KeyPair, open_sealed, seal


def _reseal(envelope: bytes | None, old: KeyPair, new: KeyPair, context: str) -> bytes | None:
    if envelope is None:
        return None
    return seal(open_sealed(envelope, old, context), new.public_key(), context)


def reseal_case(session: Session, case: Case, old_case: KeyPair, new_case: KeyPair) -> None:
    """Called by vault rotation for each case, before its grants are re-made."""
    for note in session.execute(select(CaseNote).where(CaseNote.case_id == case.id)).scalars():
        note.body = _reseal(note.body, old_case, new_case, field_context(case, f"note:{note.id}"))
    for row in session.execute(
        select(DisclosureStatement).where(DisclosureStatement.case_id == case.id)
    ).scalars():
        row.draft = _reseal(
            row.draft, old_case, new_case, field_context(case, f"statement:{row.id}:draft")
        )
        row.change_request = _reseal(
            row.change_request,
            old_case,
            new_case,
            field_context(case, f"statement:{row.id}:change-request"),
        )
    for offer in session.execute(
        select(MediatorOffer).where(
            MediatorOffer.case_id == case.id, MediatorOffer.pending_case_key.is_not(None)
        )
    ).scalars():
        # An offer not yet confirmed holds the case key: it must now hold the new one, on
        # the key it was offered to (a mediator whose key was replaced since, by a reset
        # without the recovery key, is offered nothing by a rotation).
        key = active_key(session, offer.mediator_id)
        if key is None or key.key_id != offer.holder_key_id:
            offer.pending_case_key = None
            offer.status = "cancelled"
            continue
        offer.pending_case_key = seal(
            new_case.private, public_key_of(key), case_keys.grant_context(case, CASE_KEY)
        )
        offer.holder_key_id = key.key_id


def forget_case(session: Session, case: Case) -> None:
    """Called by the retention purge: nothing of the case's content may remain."""
    for note in session.execute(select(CaseNote).where(CaseNote.case_id == case.id)).scalars():
        note.body = None
    for row in session.execute(
        select(DisclosureStatement).where(DisclosureStatement.case_id == case.id)
    ).scalars():
        row.draft = row.change_request = None
        row.approved_text = None
    for message in session.execute(
        select(RespondentMessage).where(RespondentMessage.case_id == case.id)
    ).scalars():
        message.body = None
    for offer in session.execute(
        select(MediatorOffer).where(MediatorOffer.case_id == case.id)
    ).scalars():
        offer.summary = offer.pending_case_key = None
    for meeting in session.execute(
        select(MediationSession).where(MediationSession.case_id == case.id)
    ).scalars():
        meeting.place = None
