"""Turning a published release into what the pages show: labels, rows, percentages, charts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mediation.domain.disclosure_control import percentage
from mediation.domain.statistics_tables import ALL, NOT_RECORDED, RESOLUTION_BANDS
from mediation.domain.taxonomy import load_taxonomy
from mediation.services.statistics_open_data import PublishedRelease, QuarterPoint
from mediation.web.statistics.charts import Chart, figure, grouped_columns, horizontal_bars

NOT_RECORDED_LABEL = "Not recorded"


@lru_cache(maxsize=1)
def _labels() -> dict[str, dict[str, str]]:
    taxonomy = load_taxonomy()
    return {
        "region": dict(taxonomy.region_choices()),
        "body_type": dict(taxonomy.body_type_choices()),
        "category": dict(taxonomy.category_choices()),
        "outcome": dict(taxonomy.result_choices()),
        "band": {band_id: label for band_id, label, _, _ in RESOLUTION_BANDS},
        "measure": {"received": "Received", "closed": "Closed"},
    }


def label(dimension: str, value: str) -> str:
    if value == ALL:
        return "All"
    if value == NOT_RECORDED:
        return NOT_RECORDED_LABEL
    return _labels().get(dimension, {}).get(value, value)


@dataclass(frozen=True)
class FigureRow:
    """One line of a page's table: label, published count (or None) and a percentage."""

    label: str
    count: int | None
    percent: int | None

    @property
    def count_text(self) -> str:
        return figure(self.count)

    @property
    def percent_text(self) -> str:
        return "" if self.percent is None else f"{self.percent}%"


@dataclass(frozen=True)
class Breakdown:
    """A one-dimension breakdown of the organisations whose complaint closed in a year."""

    title: str
    dimension: str
    rows: list[FigureRow]
    total: int | None
    chart: Chart


BREAKDOWNS = {
    "regions": ("region_by_year", "region", {}, "Region"),
    "body-types": ("body_type_by_year", "body_type", {}, "Type of public body"),
    "categories": ("category_outcome_by_year", "category", {"outcome": ALL}, "Breach category"),
    "outcomes": ("category_outcome_by_year", "outcome", {"category": ALL}, "Outcome"),
    "time-to-resolution": ("resolution_time_by_year", "band", {}, "Time to resolution"),
}


def breakdown(release: PublishedRelease, topic: str) -> Breakdown | None:
    """The rows of one topic from an annual release, with percentages of the total where
    both counts are published and the total is at least 20."""
    table_name, dimension, fixed, title = BREAKDOWNS[topic]
    table = release.table(table_name)
    if table is None:
        return None
    total = release.count(
        table_name, **{dimension: ALL, **{k: v for k, v in fixed.items() if k != dimension}}
    )
    rows = []
    for row in table["rows"]:
        if any(str(row[k]) != v for k, v in fixed.items()) or row[dimension] == ALL:
            continue
        rows.append(
            FigureRow(
                label(dimension, row[dimension]), row["count"], percentage(row["count"], total)
            )
        )
    chart = horizontal_bars(
        f"chart-{topic}",
        title,
        [(r.label, r.count) for r in rows],
        f"organisations whose complaint closed in {release.period}",
    )
    return Breakdown(title, dimension, rows, total, chart)


@dataclass(frozen=True)
class CrossTable:
    """Category by outcome, for the outcomes page."""

    outcomes: list[str]
    rows: list[tuple[str, list[str]]]


def category_by_outcome(release: PublishedRelease) -> CrossTable | None:
    table = release.table("category_outcome_by_year")
    if table is None:
        return None
    outcomes: list[str] = []
    by_category: dict[str, list[str]] = {}
    for row in table["rows"]:
        if row["outcome"] not in outcomes:
            outcomes.append(row["outcome"])
        by_category.setdefault(row["category"], []).append(figure(row["count"]))
    return CrossTable(
        [label("outcome", o) for o in outcomes],
        [(label("category", c), counts) for c, counts in by_category.items()],
    )


def trend_chart(points: list[QuarterPoint]) -> Chart:
    return grouped_columns(
        "chart-trend",
        "Organisations by quarter",
        [p.quarter for p in points],
        [("Received", [p.received for p in points]), ("Closed", [p.closed for p in points])],
        "organisations whose complaint was received or closed",
    )


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str


def headlines(
    latest: PublishedRelease | None, annual: PublishedRelease | None, points: list[QuarterPoint]
) -> list[Headline]:
    """The few figures at the top of the statistics pages."""
    found = []
    if points:
        last = points[-1]
        found.append(
            Headline(
                f"Organisations whose complaint was received in {last.quarter}",
                figure(last.received),
                "Counted once however many complaints they made.",
            )
        )
        found.append(
            Headline(
                f"Organisations whose complaint closed in {last.quarter}",
                figure(last.closed),
                "",
            )
        )
    if annual is not None:
        total = annual.count("category_outcome_by_year", category=ALL, outcome=ALL)
        found.append(
            Headline(f"Organisations whose complaint closed in {annual.period}", figure(total), "")
        )
        upheld = [
            annual.count("category_outcome_by_year", category=ALL, outcome=o)
            for o in ("breach_acknowledged", "breach_partly_acknowledged")
        ]
        share = None
        if None not in upheld:
            share = percentage(sum(v for v in upheld if v is not None), total)
        found.append(
            Headline(
                f"Breach acknowledged by the public body, fully or in part ({annual.period})",
                "[c]" if share is None else f"{share}%",
                "A percentage only of published figures, over at least 20 organisations.",
            )
        )
        if annual.median_days_to_resolution is not None:
            found.append(
                Headline(
                    f"Median time from complaint to closure ({annual.period})",
                    f"{annual.median_days_to_resolution} days",
                    "Given only where at least 10 organisations' complaints closed.",
                )
            )
    elif latest is not None and not points:
        found.append(Headline("Latest release", latest.id, ""))
    return found
