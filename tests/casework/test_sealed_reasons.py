"""Staff reasons about a case are sealed to the case key: the database and the admin's
audit page never hold what was typed; the case officers, the mediator (their own) and the
complainant (the disclosure log) read it; the audit chain still verifies."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, CaseReason, IdentityRequest
from mediation.services import audit, identity_access, outcomes, routing, sealed_reasons
from mediation.services.audit import Actor
from mediation.services.case_keys import field_context
from mediation.services.vault_admin import rotate
from mediation.vault import PublicKey, seal_text
from tests.casework.conftest import Driver, Staffed, complainant_browser, staff_browser
from tests.conftest import StaffFactory, counted
from tests.services.test_vault_cases import dump_database

# Words that appear nowhere else: each typed into one kind of reason.
CONFLICT = "Quillfeather trustee cousin"
DECLINE = "Bramblewick parish matter"
ON_HOLD = "Thistledown tribunal pending"
URGENT = "Marrowgate phoned Ottilie"
ASKED = "Need Pennywhistle contact details"
APPROVED = "Agreed Larkspurrow needs them"
VIEWED = "Checking Fernhollow address"
TYPED = (CONFLICT, DECLINE, ON_HOLD, URGENT, ASKED, APPROVED, VIEWED)
NAMES = (
    "Quillfeather",
    "Bramblewick",
    "Thistledown",
    "Marrowgate",
    "Ottilie",
    "Pennywhistle",
    "Larkspurrow",
    "Fernhollow",
)


def _give_every_kind_of_reason(driver: Driver, s: Staffed) -> dict[str, tuple[str, str]]:
    """One case per kind of reason; returns each case's reference and passphrase."""
    conflicted = driver.to("mediator_appointed")
    routing.decline(db.session, s.mediator, conflicted.case, "Conflict: " + CONFLICT)
    db.session.commit()

    declined = driver.to("triage")
    driver.officer_act(declined.case, "decline", decline_reason="out_of_scope", reason=DECLINE)

    held = driver.to("triage")
    driver.officer_act(held.case, "put_on_hold", reason=ON_HOLD)

    urgent = driver.to("acknowledged")
    driver.complainant_act(urgent.case, "report_adverse_treatment", reason="They cut the grant")
    outcomes.clear_urgent(db.session, s.officer, urgent.case, URGENT)
    db.session.commit()

    disclosed = driver.file()
    case = disclosed.case
    identity_access.assign_mediator(db.session, s.officer, s.officer_key, case, s.mediator)
    request = identity_access.request_identity(db.session, s.mediator, case, ASKED)
    identity_access.decide_identity_request(
        db.session, s.officer, s.officer_key, request.id, approve=True, reason=APPROVED
    )
    identity_access.read_identity(db.session, s.mediator, s.mediator_key, case, VIEWED)
    db.session.commit()
    return {
        name: (filed.reference, filed.passphrase)
        for name, filed in (
            ("conflicted", conflicted),
            ("declined", declined),
            ("held", held),
            ("urgent", urgent),
            ("disclosed", disclosed),
        )
    }


def test_reasons_are_sealed_and_read_only_by_the_case_key_holders(
    app: Flask, driver: Driver, staffed: Staffed, make_staff: StaffFactory
) -> None:
    admin = make_staff("admin")
    cases = _give_every_kind_of_reason(driver, staffed)

    dump = dump_database()
    for name in NAMES:
        for encoding in ("utf-8", "utf-16-le"):
            assert name.encode(encoding) not in dump, name
        assert name.lower().encode() not in dump.lower(), name

    with app.app_context():
        assert audit.verify(db.session).ok
        reasons = db.session.execute(
            select(AuditEntry.reason).where(AuditEntry.reason.is_not(None))
        ).scalars()
        assert any(sealed_reasons.is_sealed(r) for r in reasons)

    page = staff_browser(app, admin).get("/admin/audit").text
    assert sealed_reasons.SEALED_LABEL in page
    for typed in TYPED:
        assert typed not in page

    officer = staff_browser(app, staffed.logins["officer"])
    for name, typed in (
        ("conflicted", "Conflict: " + CONFLICT),
        ("declined", DECLINE),
        ("held", ON_HOLD),
        ("urgent", URGENT),
        ("disclosed", APPROVED),
    ):
        shown = officer.get(f"/casework/cases/{cases[name][0]}").text
        assert typed in shown, name

    # The mediator sees their own reasons, not the case officer's.
    workspace = staff_browser(app, staffed.logins["mediator"]).get(
        f"/mediator/cases/{cases['disclosed'][0]}"
    )
    assert workspace.status_code == 200
    assert ASKED in workspace.text and VIEWED in workspace.text
    assert APPROVED not in workspace.text

    # The complainant reads who asked, who decided, who saw, and why.
    log = complainant_browser(app, *cases["disclosed"]).get("/my-complaint/disclosures").text
    for typed in (ASKED, APPROVED, VIEWED):
        assert typed in log


def test_the_deciding_officer_reads_the_request_reason(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    case = driver.file().case
    identity_access.assign_mediator(
        db.session, staffed.officer, staffed.officer_key, case, staffed.mediator
    )
    request = identity_access.request_identity(db.session, staffed.mediator, case, ASKED)
    db.session.commit()
    assert sealed_reasons.is_sealed(request.reason)
    page = staff_browser(app, staffed.logins["officer"]).get(f"/identity/requests/{request.id}")
    assert page.status_code == 200 and ASKED in page.text


def test_reasons_written_before_sealing_still_show(
    app: Flask, driver: Driver, staffed: Staffed, make_staff: StaffFactory
) -> None:
    admin = make_staff("admin")
    case = driver.to("acknowledged").case
    audit.record(
        db.session,
        Actor("staff", "case_officer:test", staffed.officer.id),
        "case.put_on_hold",
        case_reference=case.reference,
        reason="Legacy clear reason kept",
    )
    db.session.commit()
    assert "Legacy clear reason kept" in staff_browser(app, admin).get("/admin/audit").text
    page = staff_browser(app, staffed.logins["officer"]).get(f"/casework/cases/{case.reference}")
    assert "Legacy clear reason kept" in page.text


def test_identity_reasons_survive_a_key_rotation(driver: Driver, staffed: Staffed) -> None:
    s = staffed
    filed = driver.file()
    case = filed.case
    identity_access.assign_mediator(db.session, s.officer, s.officer_key, case, s.mediator)
    request = identity_access.request_identity(db.session, s.mediator, case, ASKED)
    identity_access.decide_identity_request(
        db.session, s.officer, s.officer_key, request.id, approve=False, reason=APPROVED
    )
    db.session.commit()
    rotate(db.session, s.officer, s.officer_key, case.suite)
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    request = db.session.get(IdentityRequest, request.id)
    assert case is not None and request is not None
    assert identity_access.request_reason_for(case, request, s.officer_key) == ASKED
    key = driver.complainant_key(filed)
    assert identity_access.decision_reason(case, request.decisions[0], key) == APPROVED
    # The audit log's reasons live in case_reasons, re-sealed with the case: the
    # complainant's disclosure log still says why, and the chain is untouched.
    log = identity_access.disclosure_log(db.session, case, key)
    assert [line.why for line in log] == [ASKED, APPROVED]
    assert audit.verify(db.session).ok


def test_an_audit_reason_is_committed_to_by_the_log_and_destroyed_by_the_purge(
    driver: Driver,
) -> None:
    filed = driver.to("triage")
    driver.officer_act(filed.case, "put_on_hold", reason=ON_HOLD)
    entry = db.session.execute(
        select(AuditEntry).where(
            AuditEntry.case_reference == filed.reference, AuditEntry.action == "case.put_on_hold"
        )
    ).scalar_one()
    assert entry.reason is not None and entry.reason.startswith(sealed_reasons.REF_PREFIX)
    key = driver.complainant_key(filed)
    assert sealed_reasons.open_reason(filed.case, entry.reason, key) == ON_HOLD
    row_id = int(entry.reason.split(":")[1])
    row = db.session.get(CaseReason, row_id)
    assert row is not None and row.envelope is not None

    # The server can seal (it has the public key), so someone with the database can put
    # another reason in the row; the commitment in the hash-chained entry then fails.
    forged = json.dumps({"salt": "00" * 16, "text": "A different reason altogether"})
    original = row.envelope
    row.envelope = seal_text(
        forged,
        PublicKey(filed.case.suite, filed.case.case_public_key),
        field_context(filed.case, f"reason:{row_id}"),
    )
    db.session.flush()
    assert sealed_reasons.open_reason(filed.case, entry.reason, key) == sealed_reasons.ALTERED
    row.envelope = original
    db.session.commit()

    # A row deleted while the case's keys exist was not the purge: it says altered.
    db.session.delete(row)
    db.session.flush()
    db.session.expire_all()
    assert sealed_reasons.open_reason(filed.case, entry.reason, key) == sealed_reasons.ALTERED
    db.session.rollback()

    sealed_reasons.forget(db.session, filed.case)
    filed.case.keys_destroyed_on = filed.case.submitted_on  # as the purge marks it
    db.session.commit()
    assert sealed_reasons.open_reason(filed.case, entry.reason, key) == sealed_reasons.DESTROYED
    assert audit.verify(db.session).ok


def test_reading_a_cases_reasons_takes_the_same_statements_however_many(
    driver: Driver,
) -> None:
    def statements_to_read(filed_case: Case) -> int:
        key = driver.complainant_key(filed)
        db.session.expire_all()
        with counted(db.engine) as seen:
            reasons = sealed_reasons.history(db.session, filed_case, key)
        assert all(
            r.reason not in {sealed_reasons.DESTROYED, sealed_reasons.ALTERED} for r in reasons
        )
        return len(seen)

    filed = driver.to("triage")
    driver.officer_act(filed.case, "put_on_hold", reason=ON_HOLD)
    one = statements_to_read(filed.case)
    for _ in range(3):
        driver.officer_act(filed.case, "resume")
        driver.officer_act(filed.case, "put_on_hold", reason=ON_HOLD)
    assert statements_to_read(filed.case) == one
