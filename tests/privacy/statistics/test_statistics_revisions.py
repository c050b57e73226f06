"""Comparing releases cannot single out the organisation whose one case changed (G5).

A population of single-case organisations, one of which (X) has its case changed between
two states of the data: a closure reopened (and closed again next year), a closure date
corrected into the next quarter, a region corrected, an outcome corrected. Before the
change some periods are published; after it, every release the product lets an operator
publish is tried (a correction of each published period, each period not yet published,
the next year's quarter), through `publish_release`, the one path the CLI and the case
officer's button take.

Then an attacker who knows the rules (perturbation of at most 2, rounding to 5, nothing
under 10 shown, every organisation with one case and one category, how X's case changed,
and that equal membership means an equal figure) bounds everything by integer linear
programming over every figure published, in both states: the other organisations' counts
are unknown whole numbers, X's attributes are unknown one-hot choices. Each value of each
of X's attributes (region, body type, category, outcome, quarters received and closed,
before and after the change) must stay possible, and no hidden cell may be pinned to
within the rounding base. The same attacker, given two versions published without the
policy, does learn X's attribute: the attack is real.
"""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import select

from mediation.domain.disclosure_control import compute_release
from mediation.domain.statistics_periods import Period
from mediation.domain.statistics_tables import (
    CaseRow,
)
from mediation.domain.suppression_bounds import MIN_WIDTH
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.releases import StatisticsRelease
from mediation.services.demo_statistics import HistoricCase, insert_historic_cases
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    amend_statistical_record,
    collect_inputs,
    taxonomy_dimensions,
    unlock_statistics,
)
from mediation.services.statistics_releases import ReleaseRefused, publish_release
from tests.privacy.statistics.statistics_attacker import (
    NEXT,
    QUARTERS,
    YEAR,
    Attacker,
    Change,
    Published,
    figures_of,
)
from tests.statistics.conftest import Officer, historic

TODAY = date(2026, 11, 25)
ALL_PERIODS = [*QUARTERS, Period(YEAR)]
X_CASE = historic(
    date(YEAR, 4, 10),
    date(YEAR, 6, 20),
    region="north_east",
    body_type="nhs_body",
    categories=("consultation",),
    result="not_upheld",
    organisation="x",
    record_key=424242,
)


def population(seed: int) -> list[HistoricCase]:
    """About a hundred single-case organisations with few distinct values, and X last."""
    rng = random.Random(seed)
    cases = []
    for i in range(110):
        submitted = date(YEAR, 1, 1).fromordinal(date(YEAR, 1, 1).toordinal() + rng.randrange(270))
        closed = date.fromordinal(submitted.toordinal() + rng.randrange(20, 95))
        cases.append(
            historic(
                submitted,
                closed,
                region=rng.choices(("london", "north_east", "south_west"), (5, 2, 3))[0],
                body_type=rng.choice(("local_authority", "nhs_body")),
                categories=(rng.choices(("funding_process", "consultation"), (3, 1))[0],),
                result=rng.choices(("breach_acknowledged", "not_upheld"), (2, 1))[0],
                organisation=f"o{i}",
                record_key=rng.randrange(2**31),
            )
        )
    return [*cases, X_CASE]


def _reopen(case: Case, keys: StatisticsKeys) -> None:
    case.closed_on = date(YEAR + 1, 2, 10)  # reopened, closed again next year


def _later_closure(case: Case, keys: StatisticsKeys) -> None:
    case.closed_on = date(YEAR, 7, 20)


def _region(case: Case, keys: StatisticsKeys) -> None:
    amend_statistical_record(db.session, keys, case, region="london")


def _outcome(case: Case, keys: StatisticsKeys) -> None:
    amend_statistical_record(db.session, keys, case, result="breach_acknowledged")


CHANGES = [
    Change(
        "closure reopened after the year's release",
        ALL_PERIODS,
        _reopen,
        closed_after=False,
        same=("region", "body_type", "category", "outcome", "received"),
        closes_next_year=True,
    ),
    Change(
        "closure date corrected between quarterly releases",
        QUARTERS[:2],
        _later_closure,
        same=("region", "body_type", "category", "outcome", "received"),
        closed_shifts=True,
        # The later quarters share no figure with the first two; the year and a
        # correction of the second quarter would show its closures moved by one.
        published_after=frozenset({"2025-Q3", "2025-Q4", NEXT.label}),
    ),
    Change(
        "closure date corrected after the year's release, before its quarters'",
        [Period(YEAR)],
        _later_closure,
        same=("region", "body_type", "category", "outcome", "received"),
        closed_shifts=True,
        # A quarter repeats the year's figures: those of the second and third moved.
        published_after=frozenset({"2025-Q1", "2025-Q4", NEXT.label}),
    ),
    Change(
        "region corrected before the year's release",
        QUARTERS,
        _region,
        same=("body_type", "category", "outcome", "received", "closed"),
        differ=("region",),
        # The year repeats the quarters' figures, whose counts the region did not move.
        published_after=frozenset({str(YEAR), NEXT.label}),
    ),
    Change(
        "outcome corrected after the year's release",
        ALL_PERIODS,
        _outcome,
        same=("region", "body_type", "category", "received", "closed"),
        differ=("outcome",),
    ),
]


def _publish(officer: Officer, period: Period, state: int) -> Published | None:
    label = period.label
    exists = db.session.execute(
        select(StatisticsRelease.id).where(StatisticsRelease.period == label)
    ).first()
    try:
        release = publish_release(
            db.session,
            officer.user,
            officer.key,
            label,
            correction=exists is not None,
            note="Corrected" if exists is not None else None,
            today=TODAY,
        )
    except ReleaseRefused:
        db.session.rollback()
        return None
    db.session.commit()
    return Published(label, state, figures_of(json.loads(release.content), label))


def _x_rows(officer: Officer) -> tuple[Case, list[CaseRow]]:
    keys = unlock_statistics(db.session, officer.key)
    inputs = collect_inputs(db.session, keys, Period(YEAR))
    (row,) = [row for row in inputs.rows if row[0] == "org:x"]
    case = db.session.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()
    return case, [row]


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_no_pair_of_releases_singles_out_the_organisation_whose_case_changed(
    officer: Officer, change: Change
) -> None:
    keys = unlock_statistics(db.session, officer.key)
    insert_historic_cases(db.session, keys, population(1), destroyed_on=date(2026, 1, 1))
    db.session.commit()
    dims = taxonomy_dimensions()
    published = [_publish(officer, period, 0) for period in change.before]
    assert all(published), "every period publishes before the change"
    case, rows = _x_rows(officer)
    change.apply(case, keys)
    db.session.commit()
    _, after = _x_rows(officer)
    rows += after
    # Every release the operator could publish now: a correction of each period out, each
    # period not yet out, and the next year's first quarter.
    tried = {period.label: _publish(officer, period, 1) for period in [*ALL_PERIODS, NEXT]}
    releases = [r for r in published if r is not None]
    releases += [r for r in tried.values() if r is not None]
    assert {label for label, found in tried.items() if found} == change.published_after
    attacker = Attacker(dims, change, releases)
    # What the attacker knows of the change alone, without a figure (a closure moved to
    # the next quarter was not in the fourth): the figures must narrow nothing further.
    prior = Attacker(dims, change, [])
    for state in (0, 1):
        for attribute in ("region", "body_type", "category", "outcome", "received", "closed"):
            # An attribute the same before and after is asked once, before.
            if state == 1 and (
                attribute in change.same or (attribute == "closed" and not change.closed_after)
            ):
                continue
            expected = set(attacker.values[attribute])
            if attribute == "closed" and change.closed_shifts:
                expected = prior.possible(state, attribute)
            assert attacker.possible(state, attribute) == expected, (
                f"X's {attribute} {'after' if state else 'before'} the change is narrowed down"
            )
    truth = attacker.truth(rows)
    hidden = {
        (cell, release.state)
        for release in releases
        for cell, value in release.figures.items()
        if value is None
    }
    for cell, state in sorted(hidden):
        low, high = attacker.interval(cell, state, truth)
        assert high - low >= MIN_WIDTH, (cell, state, low, high)


def test_without_the_policy_the_same_attacker_learns_the_changed_region(
    officer: Officer,
) -> None:
    """Two versions of a year one region correction apart, the second computed over the
    first's history with the same cell keys, as corrections were published until
    2026-12-08 (no revisions policy): the attacker narrows the region down."""
    (change,) = [c for c in CHANGES if c.differ == ("region",)]
    learned = 0
    dims = taxonomy_dimensions()
    keys = unlock_statistics(db.session, officer.key)
    insert_historic_cases(db.session, keys, population(1), destroyed_on=date(2026, 1, 1))
    db.session.commit()
    case, before = _x_rows(officer)
    change.apply(case, keys)
    db.session.commit()
    inputs = collect_inputs(db.session, keys, Period(YEAR)).rows
    for seed in range(8):
        # Other populations: the same cases with other record keys.
        rng = random.Random(seed)
        new_keys = {row[0]: rng.randrange(2**31) for row in inputs}
        state_b = [(row[0], new_keys[row[0]], *row[2:]) for row in inputs]
        state_a = [
            row if row[0] != "org:x" else (row[0], new_keys["org:x"], *before[0][2:])
            for row in state_b
        ]
        first = compute_release(state_a, Period(YEAR), dims)
        shown = {c for c, v in figures_of(first.content(), str(YEAR)).items() if v is not None}
        hidden = {c for c, v in figures_of(first.content(), str(YEAR)).items() if v is None}
        second = compute_release(
            state_b,
            Period(YEAR),
            dims,
            previously_published=shown,
            previously_suppressed=hidden,
        )
        releases = [
            Published(str(YEAR), 0, figures_of(first.content(), str(YEAR))),
            Published(str(YEAR), 1, figures_of(second.content(), str(YEAR))),
        ]
        attacker = Attacker(dims, change, releases)
        if len(attacker.possible(1, "region")) < len(attacker.values["region"]):
            learned += 1
            break
    assert learned, "the attack should narrow the region down in some of the populations"
