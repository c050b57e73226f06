"""Email notifications over a real SMTP server on loopback (aiosmtpd): they say only that
something needs attention, with a link; complainants get them only with an address and
their consent, addressed inside a case officer's session."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from mediation.domain.coarse_time import day_start, grid_floor
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.casework import Notification
from mediation.models.time import as_utc, utcnow
from mediation.services import complaints, notifications
from tests import seeded
from tests.casework.conftest import Driver, Staffed, staff_browser
from tests.conftest import TEST_PASSWORD


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        recipients = list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        self.messages.append((recipients, message_from_bytes(content)))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]

    def clear(self) -> None:
        """Send what earlier steps queued, then forget it: a test sees only its own mail.
        What a complainant's act queued is due only after its random delay: send it as
        the cron job would once the longest delay has passed."""
        later = utcnow() + timedelta(minutes=61)
        notifications.deliver_pending(db.session, now=later)
        db.session.commit()
        self.messages.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    # The test server logs each recipient; our own code never logs an address.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, SERVICE_URL="https://cm.example.org"
    )
    yield handler
    controller.stop()


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def assert_carries_nothing_of_the_case(message: Message) -> None:
    text = body(message) + str(message["Subject"])
    for secret in seeded.SEEDED_STRINGS:
        assert secret not in text
    assert "needs your attention" in text
    assert "https://cm.example.org/" in text


def file_with(driver: Driver, identity: dict[str, str] | None) -> complaints.Filed:
    return driver.file("anonymous" if identity is None else "confidential", identity=identity)


def test_staff_are_told_only_that_something_needs_attention(
    app: Flask, inbox: Inbox, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("in_mediation")
    inbox.clear()
    respondent = staff_browser(app, staffed.logins["respondent"])
    reply = f"Our reply about {seeded.NARRATIVE}"
    respondent.post(f"/respondent/cases/{filed.reference}/reply", data={"text": reply})
    for person in (staffed.officer, staffed.second_officer, staffed.mediator):
        received = inbox.to(person.email)
        assert len(received) == 1, person.email
        assert_carries_nothing_of_the_case(received[0])
        assert "Our reply" not in body(received[0])
    assert not inbox.to(staffed.respondent.email)  # never to the person who acted
    mediator_mail = body(inbox.to(staffed.mediator.email)[0])
    assert f"https://cm.example.org/mediator/cases/{filed.reference}" in mediator_mail
    # Sent at once, but kept as the quarter hour only: its exact time would time the
    # staff act that a complainant's act's outbox row may sit next to in id order.
    db.session.expire_all()
    sent = db.session.execute(select(Notification).where(Notification.status == "sent"))
    times = [as_utc(row.sent_at) for row in sent.scalars()]
    assert len(times) >= 3
    assert all(t == grid_floor(t, timedelta(minutes=15)) for t in times), times


def test_a_complainant_is_emailed_only_with_an_address_and_consent(
    app: Flask, inbox: Inbox, driver: Driver, staffed: Staffed
) -> None:
    consenting = file_with(driver, {**seeded.IDENTITY, "email_updates": "yes"})
    silent = file_with(driver, dict(seeded.IDENTITY))
    anonymous = file_with(driver, None)
    officer = staff_browser(app, staffed.logins["officer"])
    for filed in (consenting, silent, anonymous):
        officer.post(
            f"/casework/cases/{filed.reference}/action",
            data={"action": "acknowledge", "expected_state": "submitted"},
        )
    received = inbox.to(seeded.IDENTITY["email"])
    assert len(received) == 1
    assert_carries_nothing_of_the_case(received[0])
    assert "https://cm.example.org/my-complaint" in body(received[0])
    for filed in (consenting, silent, anonymous):
        assert filed.reference not in body(received[0])
    statuses = {
        row.case_id: row.status
        for row in db.session.execute(
            select(Notification).where(Notification.recipient_kind == "complainant")
        ).scalars()
    }
    assert statuses == {consenting.case.id: "sent", silent.case.id: "skipped"}
    # The audit log records that an email went, never to where.
    entries = (
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "notification.sent_to_complainant")
        )
        .scalars()
        .all()
    )
    assert len(entries) == 1
    assert seeded.IDENTITY["email"] not in str(entries[0].details)


def test_a_complainants_email_waits_for_a_case_officers_key(
    app: Flask, inbox: Inbox, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("in_mediation")
    identity_key_holder = filed.case
    assert identity_key_holder.identity is not None
    # Give this complainant consent: re-file is simpler than editing the sealed identity.
    consenting = file_with(driver, {**seeded.IDENTITY, "email_updates": "yes"})
    for step in driver.path("in_mediation", consenting):
        step()
    inbox.clear()
    mediator = staff_browser(app, staffed.logins["mediator"])
    mediator.post(
        f"/mediator/cases/{consenting.reference}/messages",
        data={"audience": "complainant", "text": seeded.REPLY},
    )
    # The mediator holds no identity key: the email waits, sealed away, in the outbox.
    assert inbox.to(seeded.IDENTITY["email"]) == []
    waiting = (
        db.session.execute(
            select(Notification).where(
                Notification.recipient_kind == "complainant", Notification.status == "pending"
            )
        )
        .scalars()
        .all()
    )
    assert len(waiting) >= 1
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["cases", "send-mail", "--officer", staffed.officer.email], input=TEST_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "waiting for a case officer" in result.output
    received = inbox.to(seeded.IDENTITY["email"])
    assert len(received) >= 1
    assert_carries_nothing_of_the_case(received[-1])
    assert seeded.REPLY not in body(received[-1])


def test_an_invitation_carries_a_working_single_use_link_that_is_never_stored(
    app: Flask, inbox: Inbox, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("mediation_offered")  # an approved statement: the body may know
    officer = staff_browser(app, staffed.logins["officer"])
    page = officer.post(
        f"/casework/cases/{filed.reference}/invite",
        data={"name": "Jo Grants", "email": "jo.grants@marsh.example.gov.uk"},
    )
    assert "Invitation sent" in page.text
    received = inbox.to("jo.grants@marsh.example.gov.uk")
    assert len(received) == 1
    text = body(received[0])
    link = next(line for line in text.splitlines() if "/set-up/" in line)
    token = link.rsplit("/", 1)[1]
    assert token not in page.text
    for row in db.session.execute(select(Notification)).scalars():
        assert token not in row.link_path
    new_user = app.test_client().get(f"/set-up/{token}")
    assert new_user.status_code == 200


def test_a_mail_server_that_is_down_never_breaks_the_page(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens
    filed = driver.to("in_mediation")
    respondent = staff_browser(app, staffed.logins["respondent"])
    response = respondent.post(
        f"/respondent/cases/{filed.reference}/reply", data={"text": "We reply"}
    )
    assert response.status_code == 302
    pending = (
        db.session.execute(select(Notification).where(Notification.status == "pending"))
        .scalars()
        .all()
    )
    # Tried once and put back for a later run, or (queued by the complainant's acts on the
    # way) not tried yet: those wait their random delay, and no request sends them early.
    now = utcnow()
    tried = [row for row in pending if row.attempts == 1]
    assert tried and any(row.recipient_kind == "staff" for row in tried)
    for row in pending:
        if row.recipient_kind != "staff":
            continue
        assert row.not_before is not None and as_utc(row.not_before) > now
        assert as_utc(row.created_at) == day_start(row.created_at)  # the day only
        assert as_utc(row.not_before) == grid_floor(row.not_before, timedelta(minutes=15))
        if row.attempts:
            assert row.attempts == 1
            assert as_utc(row.not_before) > now + timedelta(minutes=9)
