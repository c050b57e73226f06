"""Service settings that an admin can change at run time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db


class Setting(db.Model):  # type: ignore[name-defined,misc]
    """One named setting; its default lives in the settings service."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
