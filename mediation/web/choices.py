"""Form choices in the shape WTForms 3.3 wants (SelectChoice, not tuples)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms import SelectChoice


def select_choices(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """Turn (value, label) pairs, as the taxonomy gives them, into SelectChoice objects."""
    return [SelectChoice(value, label) for value, label in pairs]
