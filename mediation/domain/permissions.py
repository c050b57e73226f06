"""The one permission table: which role may do what. Checked only through `allows`."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """Things a member of staff may do."""

    VIEW_CASE_QUEUE = "view_case_queue"
    READ_CASE_CONTENT = "read_case_content"
    TRIAGE_CASES = "triage_cases"
    APPROVE_IDENTITY_ACCESS = "approve_identity_access"
    REQUEST_IDENTITY_ACCESS = "request_identity_access"
    WORK_ASSIGNED_CASES = "work_assigned_cases"
    RESPOND_FOR_BODY = "respond_for_body"
    VIEW_STATISTICS_DASHBOARD = "view_statistics_dashboard"
    PUBLISH_STATISTICS = "publish_statistics"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_PANEL = "manage_panel"
    MANAGE_BODIES = "manage_bodies"
    VIEW_AUDIT_LOG = "view_audit_log"
    HOLD_VAULT_CUSTODY = "hold_vault_custody"
    USE_STAFF_AREA = "use_staff_area"


CASE_OFFICER = "case_officer"
MEDIATOR = "mediator"
RESPONDENT = "respondent"
ANALYST = "analyst"
ADMIN = "admin"
ALL_ROLES = frozenset({CASE_OFFICER, MEDIATOR, RESPONDENT, ANALYST, ADMIN})

# Separation of duties: the admin runs the service but is in no row that opens a case.
PERMISSIONS: dict[Permission, frozenset[str]] = {
    Permission.VIEW_CASE_QUEUE: frozenset({CASE_OFFICER}),
    Permission.READ_CASE_CONTENT: frozenset({CASE_OFFICER, MEDIATOR}),
    Permission.TRIAGE_CASES: frozenset({CASE_OFFICER}),
    Permission.APPROVE_IDENTITY_ACCESS: frozenset({CASE_OFFICER}),
    Permission.REQUEST_IDENTITY_ACCESS: frozenset({MEDIATOR}),
    Permission.WORK_ASSIGNED_CASES: frozenset({MEDIATOR}),
    Permission.RESPOND_FOR_BODY: frozenset({RESPONDENT}),
    Permission.VIEW_STATISTICS_DASHBOARD: frozenset({ANALYST, CASE_OFFICER}),
    Permission.PUBLISH_STATISTICS: frozenset({CASE_OFFICER}),
    Permission.MANAGE_USERS: frozenset({ADMIN}),
    Permission.MANAGE_SETTINGS: frozenset({ADMIN}),
    Permission.MANAGE_PANEL: frozenset({ADMIN}),
    Permission.MANAGE_BODIES: frozenset({ADMIN, CASE_OFFICER}),
    Permission.VIEW_AUDIT_LOG: frozenset({ADMIN, CASE_OFFICER}),
    Permission.HOLD_VAULT_CUSTODY: frozenset({CASE_OFFICER}),
    Permission.USE_STAFF_AREA: ALL_ROLES,
}


def allows(role: str, permission: Permission) -> bool:
    """True when the role is granted the permission."""
    return role in PERMISSIONS[permission]


def permissions_of(role: str) -> frozenset[Permission]:
    """Every permission a role holds."""
    return frozenset(p for p, roles in PERMISSIONS.items() if role in roles)
