"""The main navigation each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from mediation.domain.permissions import Permission, allows


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


# (label, endpoint, permission) in display order.
STAFF_LINKS: tuple[tuple[str, str, Permission], ...] = (
    ("Case queue", "casework.queue", Permission.VIEW_CASE_QUEUE),
    ("My cases", "mediator.cases", Permission.WORK_ASSIGNED_CASES),
    ("Cases", "respondent.cases", Permission.RESPOND_FOR_BODY),
    ("API tokens", "respondent.tokens", Permission.RESPOND_FOR_BODY),
    ("Identity requests", "identity.requests", Permission.APPROVE_IDENTITY_ACCESS),
    ("Key custody", "identity.custody", Permission.HOLD_VAULT_CUSTODY),
    ("Statistics", "analyst.dashboard", Permission.VIEW_STATISTICS_DASHBOARD),
    ("Users", "admin.users", Permission.MANAGE_USERS),
    ("Bodies", "admin.bodies", Permission.MANAGE_BODIES),
    ("Panel", "admin.panel_list", Permission.MANAGE_PANEL),
    ("Settings", "admin.settings", Permission.MANAGE_SETTINGS),
    ("Audit log", "admin.audit_log", Permission.VIEW_AUDIT_LOG),
)


def nav_for(role: str | None) -> list[NavItem]:
    if role is None:
        return [
            NavItem("Make a complaint", url_for("complainant.step", step="openness")),
            NavItem("Sign in to your complaint", url_for("complainant.sign_in")),
            NavItem("Statistics", url_for("statistics.index")),
            NavItem("Staff sign in", url_for("auth.sign_in")),
        ]
    return [
        NavItem(label, url_for(endpoint))
        for label, endpoint, permission in STAFF_LINKS
        if allows(role, permission)
    ]
