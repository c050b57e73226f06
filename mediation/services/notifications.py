"""Email notifications: an outbox written with each change, delivered over SMTP after it.

An email says only that something needs attention, with a link: never a name, the
narrative, a message or anything else about the case. The outbox row holds no address
either. Staff addresses are read when sending. A complainant's address is inside the
sealed identity, which the server cannot open: their emails wait in the outbox ("queued
sealed") until a case officer's session (the web request of a signed-in custodian, or
`flask cases send-mail --officer`) opens the identity in memory, checks that the
complainant gave an address and asked for emails, sends, and forgets it.

No email is ever sent from inside a complainant's request, and what a complainant's act
queues waits first: every email of one act is due at the same random 15-minute boundary
(OUTBOX_GRID_MINUTES) between 5 and 65 minutes after it (OUTBOX_DELAY_MINUTES), so the
public body, a mediator, a case officer or whoever holds the database learns from an
email's arrival or its `not_before` only the hour in which a complainant acted, none of
it likelier than the rest (G11; mediation/domain/coarse_time.py). `sent_at` is kept to
the grid for every email. `flask outbox deliver`, run from cron, sends what is due; a
signed-in staff member's request sends what is due at its end too, so staff acts still
reach people promptly.
"""

from __future__ import annotations

import json
import logging
import random
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import cast

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from mediation.domain import coarse_time
from mediation.domain.permissions import CASE_OFFICER, RESPONDENT
from mediation.models.cases import Case
from mediation.models.casework import DisclosureStatement, Notification
from mediation.models.staff import StaffUser
from mediation.models.time import as_utc, utcnow
from mediation.services import case_keys
from mediation.services.audit import Actor, record
from mediation.services.case_keys import IDENTITY_KEY, field_context
from mediation.services.errors import ServiceError
from mediation.vault import KeyPair, VaultError, open_text

log = logging.getLogger(__name__)

STAFF = "staff"
COMPLAINANT = "complainant"
MAX_ATTEMPTS = 5
# After a failed attempt, the next waits this long times the attempts made so far.
RETRY_AFTER = timedelta(minutes=10)
# Set in the session's info by a complainant's act: no mail goes from that request.
COMPLAINANT_ACT = "complainant_act"
# Random delays must not be guessable from earlier ones.
_RANDOM = random.SystemRandom()
# In the session's info: (the transaction, the delivery time its complainant's act drew).
_ACT_SLOT = "complainant_act_slot"
SUBJECT = "Compact Mediation: something needs your attention"
# The identity key a complainant ticks to ask for emails (set by the complaint form).
CONSENT_KEYS = ("email_updates", "notify_by_email")
_YES = {"yes", "true", "1", "on"}

# What each email says, in words that carry nothing about the case.
TOPICS: dict[str, str] = {
    "new_case": "a new complaint has arrived",
    "urgent": "a complainant has reported something urgent",
    "case_update": "there is an update on a case",
    "your_case_update": "there is an update on your complaint",
    "offer": "a case has been offered to you",
    "mediator_answer": "a mediator has answered an offer",
    "respondent_answer": "a public body has responded on a case",
    "statement_to_approve": "there is something for you to read and approve",
    "statement_answer": "a complainant has answered about a disclosure statement",
    "respondent_case": "there is a case for your organisation to look at",
    "survey": "there is a short survey about a closed case",
    "api_token_made": (
        "an API token was made for your account; if you did not make it, revoke it on the "
        "API tokens page and tell the mediation service"
    ),
}

# Who hears about each workflow action: case officers, the mediator, the complainant, or
# the public body's staff (only once the body can see the case). Every action of the
# transition table is here or in SILENT_ACTIONS (a test holds the two to the table).
ON_ACTION: dict[str, tuple[tuple[str, str], ...]] = {
    "submit": (("case_officers", "new_case"),),
    "report_adverse_treatment": (("case_officers", "urgent"), ("mediator", "urgent")),
    "acknowledge": (("complainant", "your_case_update"),),
    "decline": (("complainant", "your_case_update"),),
    "start_informal": (("complainant", "your_case_update"),),
    "offer_mediation": (("complainant", "your_case_update"), ("respondents", "respondent_case")),
    "refer": (
        ("complainant", "your_case_update"),
        ("respondents", "case_update"),
        ("mediator", "case_update"),
    ),
    "appoint_mediator": (("offered_mediator", "offer"),),
    "mediator_accept": (("case_officers", "mediator_answer"),),
    "declare_no_conflict": (("case_officers", "mediator_answer"),),
    "mediator_decline": (("case_officers", "mediator_answer"),),
    "mediator_withdraw": (
        ("case_officers", "mediator_answer"),
        ("complainant", "your_case_update"),
        ("respondents", "case_update"),
    ),
    "cancel_appointment": (("offered_mediator", "case_update"),),
    "respondent_accept": (
        ("case_officers", "respondent_answer"),
        ("mediator", "respondent_answer"),
        ("complainant", "your_case_update"),
    ),
    "respondent_decline": (
        ("case_officers", "respondent_answer"),
        ("mediator", "respondent_answer"),
        ("complainant", "your_case_update"),
    ),
    "respondent_reply": (("case_officers", "respondent_answer"), ("mediator", "respondent_answer")),
    "propose_resolution": (
        ("case_officers", "respondent_answer"),
        ("mediator", "respondent_answer"),
    ),
    "begin_mediation": (("complainant", "your_case_update"), ("respondents", "case_update")),
    "record_agreement": (("complainant", "your_case_update"), ("respondents", "case_update")),
    "record_no_agreement": (("complainant", "your_case_update"), ("respondents", "case_update")),
    "resolve_informally": (("complainant", "your_case_update"), ("respondents", "case_update")),
    "check_implementation": (("complainant", "your_case_update"), ("respondents", "case_update")),
    "close": (("complainant", "survey"), ("respondents", "survey"), ("mediator", "case_update")),
    "withdraw": (
        ("case_officers", "case_update"),
        ("mediator", "case_update"),
        ("respondents", "case_update"),
    ),
    "contest_closure": (("case_officers", "case_update"),),
    "reopen": (("complainant", "your_case_update"),),
    "uphold_closure": (("complainant", "your_case_update"),),
    "put_on_hold": (
        ("mediator", "case_update"),
        ("complainant", "your_case_update"),
        ("respondents", "case_update"),
    ),
    "resume": (
        ("mediator", "case_update"),
        ("complainant", "your_case_update"),
        ("respondents", "case_update"),
    ),
}
# Actions that email no one, and why.
SILENT_ACTIONS: dict[str, str] = {
    # The service's own next step: the complainant was told at acknowledgement.
    "start_triage": "internal",
}


def case_link(case: Case, audience: str) -> str:
    """The page an email points to; a complainant's link names no case."""
    if audience == COMPLAINANT:
        return "/my-complaint"
    if audience == "respondent":
        return f"/respondent/cases/{case.reference}"
    if audience == "mediator":
        return f"/mediator/cases/{case.reference}"
    return f"/casework/cases/{case.reference}"


def _grid() -> timedelta:
    return timedelta(minutes=float(current_app.config["OUTBOX_GRID_MINUTES"]))


def complainant_slot(session: Session) -> datetime:
    """When the emails of the complainant's act in this transaction are due: one random
    boundary of the outbox grid (see domain.coarse_time), drawn once per act and shared by
    every email it queues, so that recipients comparing arrivals learn nothing more than
    one of them does, and the stored `not_before` says only the hour."""
    # Flask-SQLAlchemy's db.session is a scoped_session, which does not pass this on.
    current = session() if isinstance(session, scoped_session) else session
    transaction = current.get_transaction()
    held = session.info.get(_ACT_SLOT)
    if held is not None and transaction is not None and held[0] is transaction:
        return cast(datetime, held[1])
    low, high = (timedelta(minutes=float(m)) for m in current_app.config["OUTBOX_DELAY_MINUTES"])
    grid = _grid()
    slots = coarse_time.delivery_slots(low, high, grid)
    slot = coarse_time.delivery_slot(
        utcnow(), earliest=low, grid=grid, slot=_RANDOM.randrange(slots)
    )
    session.info[_ACT_SLOT] = (transaction, slot)
    return slot


def _queue(
    session: Session,
    *,
    kind: str,
    topic: str,
    link: str,
    user_id: int | None = None,
    case: Case | None = None,
    delayed: bool = False,
) -> Notification:
    row = Notification(
        recipient_kind=kind,
        recipient_user_id=user_id,
        case_id=case.id if case is not None else None,
        topic=topic,
        link_path=link,
        status="pending",
        attempts=0,
    )
    session.add(row)  # begins the transaction the act's one delivery time belongs to
    if delayed:
        row.not_before = complainant_slot(session)
    session.info["outbox"] = True
    if delayed:
        session.info[COMPLAINANT_ACT] = True
    return row


def notify_staff(
    session: Session,
    users: Iterable[StaffUser],
    topic: str,
    link: str,
    *,
    skip: int | None,
    delayed: bool = False,
) -> int:
    """Queue one email to each active user but `skip`; `delayed` for a complainant's act."""
    count = 0
    for user in users:
        if user.active and user.id != skip:
            _queue(session, kind=STAFF, topic=topic, link=link, user_id=user.id, delayed=delayed)
            count += 1
    return count


def notify_complainant(session: Session, case: Case, topic: str) -> None:
    """Queue an email to the complainant; it goes only if they gave an address and asked."""
    if case.identity is None:
        return  # anonymous: there is no address, and no one may look for one
    _queue(session, kind=COMPLAINANT, topic=topic, link=case_link(case, COMPLAINANT), case=case)


def case_officers(session: Session) -> list[StaffUser]:
    return list(
        session.execute(
            select(StaffUser).where(StaffUser.role == CASE_OFFICER, StaffUser.active.is_(True))
        ).scalars()
    )


def body_staff(session: Session, case: Case) -> list[StaffUser]:
    """The public body's staff, but only once an approved statement lets them see the case."""
    if case.respondent_body_id is None:
        return []
    approved = session.execute(
        select(DisclosureStatement.id).where(
            DisclosureStatement.case_id == case.id, DisclosureStatement.status == "approved"
        )
    ).first()
    if approved is None:
        return []
    return list(
        session.execute(
            select(StaffUser).where(
                StaffUser.role == RESPONDENT,
                StaffUser.respondent_body_id == case.respondent_body_id,
                StaffUser.active.is_(True),
            )
        ).scalars()
    )


def notify(
    session: Session,
    case: Case,
    audience: str,
    topic: str,
    *,
    actor: Actor,
    mediator_id: int | None = None,
    officers: list[StaffUser] | None = None,
) -> None:
    """Queue one topic for one audience of a case, never to the person who acted; what a
    complainant's act causes waits a random delay (see the module's docstring). `officers`:
    the active case officers, when the caller has read them already."""
    skip = actor.id if actor.kind == "staff" else None
    delayed = actor.kind == COMPLAINANT
    if audience == "case_officers":
        link = case_link(case, "staff")
        users = officers if officers is not None else case_officers(session)
        notify_staff(session, users, topic, link, skip=skip, delayed=delayed)
    elif audience == "respondents":
        link = case_link(case, "respondent")
        notify_staff(session, body_staff(session, case), topic, link, skip=skip, delayed=delayed)
    elif audience in {"mediator", "offered_mediator"}:
        target = mediator_id if audience == "offered_mediator" else case.mediator_id
        user = session.get(StaffUser, target) if target else None
        if user is not None:
            link = case_link(case, "mediator")
            notify_staff(session, [user], topic, link, skip=skip, delayed=delayed)
    elif audience == COMPLAINANT:
        if actor.kind != COMPLAINANT:
            notify_complainant(session, case, topic)
    else:
        raise ValueError(f"unknown audience {audience!r}")


def for_action(
    session: Session, case: Case, action: str, actor: Actor, *, mediator_id: int | None = None
) -> None:
    """Queue the emails a workflow action sends (ON_ACTION)."""
    for audience, topic in ON_ACTION.get(action, ()):
        notify(session, case, audience, topic, actor=actor, mediator_id=mediator_id)


# Delivery -------------------------------------------------------------------------------


class MailNotSent(ServiceError):
    default_message = "The email could not be sent. Give the person the link yourself."


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def compose(to: str, topic: str, link: str) -> EmailMessage:
    base = str(current_app.config["SERVICE_URL"]).rstrip("/")
    message = EmailMessage()
    message["From"] = str(current_app.config["MAIL_DEFAULT_SENDER"])
    message["To"] = to
    message["Subject"] = SUBJECT
    message.set_content(
        "Hello,\n\n"
        f"Something on Compact Mediation needs your attention: {TOPICS[topic]}.\n\n"
        f"Sign in to see it:\n{base}{link}\n\n"
        "For confidentiality, our emails never contain any details of a case.\n"
    )
    return message


def smtp_send(message: EmailMessage) -> None:
    """Send one message with the MAIL_* settings; raises MailNotSent on any failure."""
    config = current_app.config
    try:
        with smtplib.SMTP(str(config["MAIL_SERVER"]), int(config["MAIL_PORT"]), timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(str(config["MAIL_USERNAME"]), str(config["MAIL_PASSWORD"] or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent() from exc


def send_invitation(to: str, link: str) -> None:
    """A set-up link for a new public-body user, sent at once: the single-use token is
    never written to the outbox, so it exists only in this email (and its hash)."""
    if not mail_configured():
        raise MailNotSent("Email is not set up on this service. Give the person the link.")
    message = EmailMessage()
    message["From"] = str(current_app.config["MAIL_DEFAULT_SENDER"])
    message["To"] = to
    # Neutral on purpose: the same email serves a reset, and it never says whether, or
    # since when, there is a case.
    message["Subject"] = "Compact Mediation: set up your account"
    message.set_content(
        "Hello,\n\n"
        "An account has been set up for you on Compact Mediation.\n\n"
        f"Choose your password with this link (it works once, for 7 days):\n{link}\n\n"
        "For confidentiality, our emails never contain any details of a case.\n"
    )
    smtp_send(message)


def complainant_address(case: Case, officer_key: KeyPair) -> str | None:
    """Open the sealed identity in memory: the address, if they asked for emails."""
    if case.identity is None:
        return None
    identity_key = case_keys.open_grant(case, IDENTITY_KEY, officer_key)
    identity = json.loads(open_text(case.identity, identity_key, field_context(case, "identity")))
    consent = identity.get(next((k for k in CONSENT_KEYS if k in identity), ""), "")
    wants = consent is True or str(consent).strip().lower() in _YES
    address = str(identity.get("email") or "").strip()
    return address if wants and address else None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0  # complainant emails waiting for a custodian's session


def deliver_pending(
    session: Session,
    *,
    officer_key: KeyPair | None = None,
    limit: int = 200,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send what is due (`not_before` passed). Caller commits. With a custodian's key,
    complainants' emails too. A failed attempt is tried again later, up to MAX_ATTEMPTS."""
    if not mail_configured():
        return DeliveryReport()
    now = now or utcnow()
    rows = session.execute(
        select(Notification)
        .where(
            Notification.status == "pending",
            (Notification.not_before.is_(None)) | (Notification.not_before <= now),
        )
        .order_by(Notification.id)
        .limit(limit)
    ).scalars()
    sent = skipped = failed = waiting = 0
    for row in rows:
        try:
            address = _address_for(session, row, officer_key)
        except _Waiting:
            waiting += 1
            continue
        if address is None:
            row.status = "skipped"
            skipped += 1
            continue
        try:
            smtp_send(compose(address, row.topic, row.link_path))
        except MailNotSent:
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                failed += 1
            else:
                # On the grid too, like every other not_before.
                row.not_before = coarse_time.grid_ceil(
                    _later_of(row.not_before, now) + RETRY_AFTER * row.attempts, _grid()
                )
            log.warning("Notification %s not delivered (attempt %s)", row.id, row.attempts)
            continue
        row.status = "sent"
        # To the grid: the delivery's exact time is not needed, and a staff email's would
        # time the staff act beside which a complainant's act's row sits in id order.
        row.sent_at = coarse_time.grid_floor(utcnow(), _grid())
        sent += 1
        if row.recipient_kind == COMPLAINANT:
            case = session.get(Case, row.case_id)
            record(
                session,
                Actor.system("notifications"),
                "notification.sent_to_complainant",
                case_reference=case.reference if case else None,
                details={"notification_id": row.id, "topic": row.topic},
            )
    return DeliveryReport(sent, skipped, failed, waiting)


def _later_of(moment: datetime | None, now: datetime) -> datetime:
    return now if moment is None else max(as_utc(moment), now)


class _Waiting(Exception):
    """A complainant's email that needs a custodian's key to address."""


def _address_for(session: Session, row: Notification, officer_key: KeyPair | None) -> str | None:
    if row.recipient_kind == STAFF:
        user = session.get(StaffUser, row.recipient_user_id) if row.recipient_user_id else None
        return user.email if user is not None and user.active else None
    case = session.get(Case, row.case_id) if row.case_id else None
    if case is None or case.identity is None or case.keys_destroyed_on is not None:
        return None
    if officer_key is None:
        raise _Waiting()
    try:
        return complainant_address(case, officer_key)
    except (case_keys.NotAHolder, VaultError) as exc:
        raise _Waiting() from exc
