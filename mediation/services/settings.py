"""Run-time settings an admin may change, with their defaults and validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from mediation.models.settings import Setting
from mediation.services.audit import Actor, record


class InvalidSetting(ValueError):
    """A setting's value is out of range or of the wrong kind."""


@dataclass(frozen=True)
class SettingSpec:
    """What a setting means and which values it takes."""

    key: str
    label: str
    hint: str
    config_key: str
    minimum: int
    maximum: int


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "identity_approvals_required",
            "Approvals needed before a mediator sees an identity",
            "1 means one case officer approves; 2 means two different case officers.",
            "IDENTITY_APPROVALS_REQUIRED",
            1,
            2,
        ),
        SettingSpec(
            "retention_months",
            "Months a closed case is kept before its keys are destroyed",
            "After this, only the statistical record remains.",
            "RETENTION_MONTHS",
            1,
            120,
        ),
    )
}


def get_setting(session: Session, key: str) -> int:
    """The stored value, or the configured default."""
    spec = SPECS[key]
    stored = session.get(Setting, key)
    if stored is not None:
        return int(stored.value)
    return int(current_app.config[spec.config_key])


def all_settings(session: Session) -> dict[str, int]:
    return {key: get_setting(session, key) for key in SPECS}


def change_setting(session: Session, actor: Actor, key: str, raw: Any) -> int:
    """Validate and store one setting, with an audit entry; the caller commits."""
    if key not in SPECS:
        raise InvalidSetting(f"There is no setting called {key}.")
    spec = SPECS[key]
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidSetting(f"{spec.label} must be a whole number.") from exc
    if not spec.minimum <= value <= spec.maximum:
        raise InvalidSetting(f"{spec.label} must be between {spec.minimum} and {spec.maximum}.")
    old = get_setting(session, key)
    stored = session.get(Setting, key)
    if stored is None:
        session.add(Setting(key=key, value=value))
    else:
        stored.value = value
    record(session, actor, "setting.changed", details={"key": key, "from": old, "to": value})
    return value
