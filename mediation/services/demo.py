"""Demonstration data: bodies, one account per role and the mediator panel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.models.bodies import RespondentBody
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services import accounts, bodies, case_clocks, keyring
from mediation.services.audit import Actor, record


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    name: str
    body: str | None = None


PANEL_PASSWORD = "demo-panel-member"  # noqa: S105  (demo only; documented in README)

# Shown in the README. These sign in without a second factor only when DEMO_MODE is on.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("case_officer", "caseofficer@demo.example.org", "demo-case-officer", "Priya Shah"),
    DemoAccount(
        "case_officer", "custodian2@demo.example.org", "demo-custodian-two", "Tom Fielding"
    ),
    DemoAccount("mediator", "mediator@demo.example.org", "demo-mediator-pass", "Grace Okafor"),
    DemoAccount(
        "respondent",
        "respondent@demo.example.org",
        "demo-respondent-pass",
        "Alan Marsh",
        "Marsh County Council",
    ),
    DemoAccount("analyst", "analyst@demo.example.org", "demo-analyst-pass", "Ruth Adeyemi"),
    DemoAccount("admin", "admin@demo.example.org", "demo-admin-password", "Sam Carter"),
)


def packaged_text(name: str) -> str:
    return resources.files("mediation.data").joinpath(name).read_text(encoding="utf-8")


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _moved(person: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """A demo panel member with every date moved on by `shift` (the days since the panel
    file's `as_of`), so that the panel looks on the day it is loaded as it did then."""

    def moved(day: str | None) -> str | None:
        return (date.fromisoformat(day) + shift).isoformat() if day else day

    return {
        **person,
        "accredited_on": moved(person.get("accredited_on")),
        "cpd_last_date": moved(person.get("cpd_last_date")),
        "leave": [
            {**leave, "start": moved(leave["start"]), "end": moved(leave["end"])}
            for leave in person.get("leave", [])
        ],
    }


def load_panel(session: Session, actor: Actor, panel: list[dict[str, Any]]) -> int:
    """Create a mediator account and panel profile for each entry (demo: known password)."""
    body_ids = {b.name: b.id for b in session.execute(select(RespondentBody)).scalars()}
    created = 0
    for person in panel:
        if accounts.find_by_email(session, person["email"]) is not None:
            continue
        new = accounts.create_staff_user(
            session,
            actor,
            email=person["email"],
            name=person["name"],
            role="mediator",
            password=PANEL_PASSWORD,
            is_demo=True,
        )
        accreditation = person.get("accreditation") or {}
        cpd = person.get("cpd") or {}
        interests = []
        for interest in person.get("interests") or person.get("declared_interests") or []:
            if isinstance(interest, str):
                interest = {"text": interest}
            body_name = interest.get("body")
            interests.append(
                {
                    "body_id": body_ids.get(body_name) if body_name else None,
                    "organisation": interest.get("organisation"),
                    "text": interest.get("text") or interest.get("description") or "",
                }
            )
        session.add(
            MediatorProfile(
                user_id=new.user.id,
                specialisms=list(person.get("specialisms", [])),
                regions=list(person.get("regions", [])),
                languages=list(person.get("languages", ["en"])),
                capacity=int(person.get("capacity", 3)),
                accreditation_body=accreditation.get("body") or person.get("accreditation_body"),
                accredited_on=_date(accreditation.get("date") or person.get("accredited_on")),
                cpd_last_date=_date(cpd.get("last_date") or person.get("cpd_last_date")),
                cpd_hours=int(cpd.get("hours") or person.get("cpd_hours") or 0),
                leave=list(person.get("leave", [])),
                interests=interests,
            )
        )
        created += 1
    return created


def load_demo(session: Session) -> str:
    """Load everything; safe to run twice (existing accounts and bodies are kept)."""
    actor = Actor.system("demo")
    loaded = bodies.load_bodies_csv(session, actor, packaged_text("respondent_bodies.csv"))
    session.flush()
    made = 0
    for account in DEMO_ACCOUNTS:
        if accounts.find_by_email(session, account.email) is not None:
            continue
        body_id = None
        if account.body:
            body_id = session.execute(
                select(RespondentBody.id).where(RespondentBody.name == account.body)
            ).scalar_one()
        created = accounts.create_staff_user(
            session,
            actor,
            email=account.email,
            name=account.name,
            role=account.role,
            respondent_body_id=body_id,
            password=account.password,
            is_demo=True,
        )
        if account.role == "case_officer":
            # Demo data stands in for the key ceremony: its case officers are custodians.
            keyring.admit_as_custodian(session, created.user, by=None)
            record(
                session,
                actor,
                "vault.custodian_admitted",
                details={"user_id": created.user.id, "by": "demo data"},
            )
        made += 1
    panel_data = json.loads(packaged_text("demo_panel.json"))
    shift = case_clocks.today() - date.fromisoformat(panel_data["as_of"])
    panel = [_moved(person, shift) for person in panel_data["mediators"]]
    panel_made = load_panel(session, actor, panel)
    session.flush()
    staff = len(session.execute(select(StaffUser.id)).all())
    return (
        f"{loaded.added} bodies, {made} demo accounts, {panel_made} panel mediators, "
        f"{staff} staff in all"
    )
