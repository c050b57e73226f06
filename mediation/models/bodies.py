"""Respondent bodies: the public bodies (funders) that complaints are made against."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db


class RespondentBody(db.Model):  # type: ignore[name-defined,misc]
    """A public body, typed and placed as in the taxonomy."""

    __tablename__ = "respondent_bodies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    body_type: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(40))
    local_authority_kind: Mapped[str | None] = mapped_column(String(40))
    compact: Mapped[str] = mapped_column(String(20), default="national")
    # Bodies named by complainants but not yet confirmed by a case officer.
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
