"""Keyboard checks: where Tab goes, and whether a person can see where focus is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)

# Tags every focusable element in document order and returns how each looks unfocused.
# A visually hidden radio or checkbox shows focus on its label's ::before, so labels'
# pseudo-elements count as part of the element's appearance.
APPEARANCE = """
(el) => {
  const props = ['outlineStyle', 'outlineWidth', 'outlineColor', 'outlineOffset', 'boxShadow',
                 'backgroundColor', 'color', 'textDecorationLine', 'textDecorationThickness',
                 'borderTopColor', 'borderTopWidth', 'borderBottomColor'];
  const pick = (style) => {
    const out = {};
    for (const p of props) out[p] = style[p];
    return out;
  };
  const parts = {self: pick(getComputedStyle(el))};
  (el.labels ? Array.from(el.labels) : []).forEach((label, i) => {
    parts['label' + i + '::before'] = pick(getComputedStyle(label, '::before'));
    parts['label' + i + '::after'] = pick(getComputedStyle(label, '::after'));
  });
  return parts;
}
"""

TAG_ALL = """
(selector) => {
  if (document.activeElement) document.activeElement.blur();
  const visible = (el) => {
    const target = (el.labels && el.labels[0]) || el;
    const box = target.getBoundingClientRect();
    return !(el.closest('[hidden]')) && getComputedStyle(el).visibility !== 'hidden'
      && (box.width > 0 || box.height > 0 || el.classList.contains('skip-link'));
  };
  // Tab stops once in a radio group (on its checked radio, else its first); arrows move within.
  const oneStopPerGroup = (el) => {
    if (el.type !== 'radio') return true;
    const group = Array.from(document.getElementsByName(el.name));
    const stop = group.find((r) => r.checked) || group[0];
    return el === stop;
  };
  const found = Array.from(document.querySelectorAll(selector))
    .filter(visible)
    .filter(oneStopPerGroup);
  found.forEach((el, i) => el.setAttribute('data-proof-focus', String(i)));
  return found.map((el) => el.outerHTML.slice(0, 120));
}
"""


@dataclass
class FocusStop:
    index: int
    description: str
    changed: list[str]
    box: dict[str, float] | None


def _transparent(colour: str) -> bool:
    return colour in {"transparent", "rgba(0, 0, 0, 0)"}


def visible_changes(unfocused: dict[str, Any], focused: dict[str, Any]) -> list[str]:
    """Which properties look different with focus (a transparent outline is not seen)."""
    changes = []
    for part, before in unfocused.items():
        after = focused.get(part, {})
        for prop, value in after.items():
            if before.get(prop) == value:
                continue
            if prop.startswith("outline") and (
                after.get("outlineStyle") == "none" or _transparent(after.get("outlineColor", ""))
            ):
                continue
            changes.append(f"{part}.{prop}")
    return changes


def tab_through(page: Page) -> tuple[list[str], list[FocusStop]]:
    """Press Tab from the top of the page until focus has visited every element once."""
    described: list[str] = page.evaluate(TAG_ALL, FOCUSABLE)
    unfocused = [
        page.locator(f"[data-proof-focus='{i}']").evaluate(APPEARANCE)
        for i in range(len(described))
    ]
    stops: list[FocusStop] = []
    for _ in range(len(described) + 3):
        page.keyboard.press("Tab")
        raw = page.evaluate("() => document.activeElement.getAttribute('data-proof-focus')")
        if raw is None:
            if stops:
                break  # focus left the document after the last element
            continue
        index = int(raw)
        if stops and index == stops[0].index:
            break
        element = page.locator(f"[data-proof-focus='{index}']")
        focused = element.evaluate(APPEARANCE)
        box = page.evaluate(
            "(el) => { const b = ((el.labels && el.labels[0]) || el).getBoundingClientRect();"
            " return {x: b.x, y: b.y, width: b.width, height: b.height}; }",
            element.element_handle(),
        )
        stops.append(
            FocusStop(index, described[index], visible_changes(unfocused[index], focused), box)
        )
    return described, stops
