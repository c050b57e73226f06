"""The differential-privacy settings can come from the environment, like the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediation import create_app
from mediation.config import environment_settings


def test_epsilon_and_budget_are_read_from_the_environment_as_numbers() -> None:
    settings = environment_settings({"STATISTICS_DP_EPSILON": "0.5", "STATISTICS_DP_BUDGET": "2"})
    assert settings == {"STATISTICS_DP_EPSILON": 0.5, "STATISTICS_DP_BUDGET": 2.0}
    assert environment_settings({"STATISTICS_DP_EPSILON": ""}) == {}


def test_the_app_takes_them_over_the_instance_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config.py").write_text(
        'SECRET_KEY = "test-only"\nSTATISTICS_DP_EPSILON = 1.0\nSTATISTICS_DP_BUDGET = 4.0\n'
    )
    monkeypatch.setenv("MEDIATION_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STATISTICS_DP_EPSILON", "0.25")
    monkeypatch.setenv("STATISTICS_DP_BUDGET", "1.5")
    app = create_app()
    assert app.config["STATISTICS_DP_EPSILON"] == 0.25
    assert app.config["STATISTICS_DP_BUDGET"] == 1.5
