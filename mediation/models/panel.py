"""The independent mediator panel: who can mediate what, where, and their interests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db


class MediatorProfile(db.Model):  # type: ignore[name-defined,misc]
    """Panel details for a staff user with the mediator role."""

    __tablename__ = "mediator_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    specialisms: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    accreditation_body: Mapped[str | None] = mapped_column(String(200))
    accredited_on: Mapped[date | None] = mapped_column(Date)
    cpd_last_date: Mapped[date | None] = mapped_column(Date)
    cpd_hours: Mapped[int] = mapped_column(Integer, default=0)
    # [{"start": "2026-11-20", "end": "2026-12-04"}]
    leave: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"body_id": 3, "text": "Trustee of ..."}] or [{"organisation": "...", "text": ...}]
    interests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
