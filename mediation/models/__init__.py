"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from mediation.models.audit import AuditEntry, AuditHead
from mediation.models.bodies import RespondentBody
from mediation.models.panel import MediatorProfile
from mediation.models.settings import Setting
from mediation.models.staff import Role, SetupToken, StaffUser

__all__ = [
    "AuditEntry",
    "AuditHead",
    "MediatorProfile",
    "RespondentBody",
    "Role",
    "Setting",
    "SetupToken",
    "StaffUser",
]
