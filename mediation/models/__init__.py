"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from mediation.models import casework, intake, releases  # noqa: F401  (each registers its tables)
from mediation.models.audit import AuditEntry, AuditHead
from mediation.models.bodies import RespondentBody
from mediation.models.cases import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseMessage,
    IdentityDecision,
    IdentityRequest,
    QueueVersion,
    SealedKey,
)
from mediation.models.panel import MediatorProfile
from mediation.models.settings import Setting
from mediation.models.staff import Role, SetupToken, StaffSession, StaffUser
from mediation.models.statistics import StatisticalRecord, StatisticsKey, StatisticsKeyGrant
from mediation.models.vault import KeyCustody, StaffKey

__all__ = [
    "AuditEntry",
    "AuditHead",
    "Case",
    "CaseDocument",
    "CaseEvent",
    "CaseMessage",
    "IdentityDecision",
    "IdentityRequest",
    "KeyCustody",
    "MediatorProfile",
    "QueueVersion",
    "RespondentBody",
    "Role",
    "SealedKey",
    "Setting",
    "SetupToken",
    "StaffKey",
    "StaffSession",
    "StaffUser",
    "StatisticalRecord",
    "StatisticsKey",
    "StatisticsKeyGrant",
]
