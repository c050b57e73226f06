"""Charts drawn on the server as SVG: geometry here, markup in templates/statistics/_charts.html.

Every chart is an image with a title and a description for assistive technology, and the
page always shows the same figures in a table beside it. A suppressed figure is drawn as
no bar, labelled "[c]", never as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SUPPRESSED = "[c]"
# GOV.UK-like colours with enough contrast against white (bars) and for text.
SERIES_COLOURS = ("#1d70b8", "#28a197", "#f47738", "#4c2c92")
TEXT_COLOUR = "#0b0c0c"
AXIS_COLOUR = "#505a5f"


def figure(value: int | None) -> str:
    return SUPPRESSED if value is None else f"{value:,}"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None
    x: float
    y: float
    width: float
    height: float
    colour: str
    text_x: float
    text_y: float

    @property
    def text(self) -> str:
        return figure(self.value)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template needs; sizes are in the SVG's own units."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[AxisLabel, ...]
    legend: tuple[tuple[str, str], ...]
    horizontal: bool
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float


def _nice_maximum(values: Sequence[int | None]) -> int:
    largest = max([v for v in values if v is not None] or [0])
    if largest <= 0:
        return 10
    step = 10 ** (len(str(largest)) - 1)
    for multiple in (1, 2, 2.5, 5, 10):
        top = int(step * multiple)
        if top >= largest:
            return top
    return largest


def _ticks(maximum: int, count: int = 5) -> list[int]:
    return [round(maximum * i / count) for i in range(count + 1)]


def horizontal_bars(
    chart_id: str, title: str, items: Sequence[tuple[str, int | None]], unit: str
) -> Chart:
    """One bar per category, labels on the left: for categories, regions, body types."""
    longest = max([len(label) for label, _ in items] or [10])
    # About 7.5 units a character at the label size; the labels must not be cut off.
    label_width, bar_height, gap, width = min(380.0, 7.5 * longest + 20), 22.0, 10.0, 760
    top, right_margin = 30.0, 70.0
    plot_left, plot_right = label_width, width - right_margin
    maximum = _nice_maximum([value for _, value in items])
    scale = (plot_right - plot_left) / maximum
    bars, labels = [], []
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + gap)
        length = 0.0 if value is None else value * scale
        bars.append(
            Bar(
                label,
                value,
                plot_left,
                y,
                length,
                bar_height,
                SERIES_COLOURS[0],
                plot_left + length + 6,
                y + bar_height * 0.72,
            )
        )
        labels.append(AxisLabel(plot_left - 8, y + bar_height * 0.72, label))
    bottom = top + len(items) * (bar_height + gap)
    ticks = tuple(Tick(plot_left + t * scale, f"{t:,}") for t in _ticks(maximum))
    return Chart(
        chart_id,
        title,
        f"Bar chart of {unit} by {title.lower()}. {_suppressed_note(items)}"
        "The same figures are in the table that follows.",
        width,
        int(bottom + 30),
        tuple(bars),
        ticks,
        tuple(labels),
        (),
        True,
        plot_left,
        top,
        plot_right,
        bottom,
    )


def grouped_columns(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None]]],
    unit: str,
) -> Chart:
    """Columns per category (quarters), one colour per series: for the trend."""
    width, height = 720, 320
    plot_left, plot_right, plot_top, plot_bottom = 60.0, width - 20.0, 20.0, height - 60.0
    everything = [value for _, values in series for value in values]
    maximum = _nice_maximum(everything)
    scale = (plot_bottom - plot_top) / maximum
    slot = (plot_right - plot_left) / max(1, len(categories))
    column = slot * 0.8 / max(1, len(series))
    bars, labels = [], []
    for i, category in enumerate(categories):
        left = plot_left + i * slot + slot * 0.1
        for s, (name, values) in enumerate(series):
            value = values[i]
            height_px = 0.0 if value is None else value * scale
            x = left + s * column
            bars.append(
                Bar(
                    f"{category}, {name}",
                    value,
                    x,
                    plot_bottom - height_px,
                    column * 0.92,
                    height_px,
                    SERIES_COLOURS[s % len(SERIES_COLOURS)],
                    x + column * 0.46,
                    plot_bottom - height_px - 4,
                )
            )
        if len(categories) <= 12 or i % 2 == 0:
            labels.append(AxisLabel(left + slot * 0.4, plot_bottom + 18, category))
    ticks = tuple(Tick(plot_bottom - t * scale, f"{t:,}") for t in _ticks(maximum))
    legend = tuple(
        (name, SERIES_COLOURS[s % len(SERIES_COLOURS)]) for s, (name, _) in enumerate(series)
    )
    names = " and ".join(name for name, _ in series)
    return Chart(
        chart_id,
        title,
        f"Column chart of {unit}, {names}, by quarter. "
        f"{_suppressed_note([('', value) for value in everything])}"
        "The same figures are in the table that follows.",
        width,
        height,
        tuple(bars),
        ticks,
        tuple(labels),
        legend,
        False,
        plot_left,
        plot_top,
        plot_right,
        plot_bottom,
    )


def _suppressed_note(items: Sequence[tuple[str, int | None]]) -> str:
    hidden = sum(1 for _, value in items if value is None)
    if not hidden:
        return ""
    return (
        f"{hidden} figure{'s are' if hidden > 1 else ' is'} suppressed to protect organisations. "
    )
