"""Attacks on the published statistics, and proof that they fail.

The proof is by witnesses: two different sets of true data, differing in the suppressed
cell the attacker wants, that give byte-for-byte the same release (or the same pair of
releases). No attacker, however clever, can tell them apart from what is published. Each
attack is also run against a naive publication (exact counts, small cells hidden alone,
no history) to show that it is a real attack which succeeds there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from mediation.domain.complementary_suppression import exposed_cells
from mediation.domain.disclosure_control import (
    DOMINANCE_REASON,
    THRESHOLD,
    ComputedRelease,
    compute_release,
    primary_suppression,
    tally,
)
from mediation.domain.statistics_periods import Period
from mediation.domain.statistics_tables import (
    NOT_RECORDED,
    CaseStatistics,
    build_grid,
    row_cell_id,
)
from tests.statistics.conftest import SMALL_DIMS, YEAR, reference_cells

PERIOD = Period(YEAR)
FEW_GRANTEES_BODY = 7


def organisation(
    name: str,
    region: str | None,
    *,
    body: int | None = None,
    body_type: str = "local_authority",
    closed: date = date(YEAR, 6, 2),
) -> CaseStatistics:
    key = sum(ord(ch) * 131**i for i, ch in enumerate(name)) % 2**31
    return CaseStatistics(
        unit=f"org:{name}",
        unit_key=key,
        body=body if body is not None else 1000 + key % 997,
        body_type=body_type,
        region=region,
        categories=("funding_process",),
        result="breach_acknowledged",
        submitted_on=date(YEAR, 2, 3),
        closed_on=closed,
    )


def region_population(north_east: int, not_recorded: int) -> list[CaseStatistics]:
    """A year of closed cases: a small North East, a middling 'not recorded'."""
    cases = [organisation(f"ne{i}", "north_east") for i in range(north_east)]
    cases += [organisation(f"ldn{i}", "london") for i in range(40)]
    cases += [organisation(f"sw{i}", "south_west") for i in range(30)]
    cases += [organisation(f"nr{i}", None) for i in range(not_recorded)]
    return cases


def move_to_not_recorded(cases: Sequence[CaseStatistics], count: int) -> list[CaseStatistics]:
    """The same organisations, `count` of the North East ones recorded with no region."""
    moved, result = 0, []
    for case in cases:
        if case.region == "north_east" and moved < count:
            case = replace(case, region=None)
            moved += 1
        result.append(case)
    return result


def as_bytes(release: ComputedRelease) -> bytes:
    return json.dumps(release.content(), sort_keys=True, separators=(",", ":")).encode()


def history(release: ComputedRelease) -> tuple[set[str], set[str]]:
    published, suppressed = set(), set()
    for table in release.tables:
        for row in table["rows"]:
            cell = row_cell_id(release.period, str(table["name"]), row)
            (suppressed if row["count"] is None else published).add(cell)
    return published, suppressed


def region_count(release: ComputedRelease, region: str) -> int | None:
    for table in release.tables:
        if table["name"] == "region_by_year":
            for row in table["rows"]:
                if row["region"] == region:
                    return row["count"]  # type: ignore[return-value]
    raise AssertionError(region)


def naive_regions(
    cases: Sequence[CaseStatistics], *, hide_small: bool = True
) -> dict[str, int | None]:
    """How a naive service would publish regions: exact distinct counts, small ones hidden."""
    truth = reference_cells(cases, PERIOD)
    regions = (*SMALL_DIMS.regions, NOT_RECORDED, "all")
    figures: dict[str, int | None] = {}
    for region in regions:
        cell = f"closed|{YEAR}" + ("" if region == "all" else f"|region={region}")
        count = len(truth[cell][0]) if cell in truth else 0
        figures[region] = None if hide_small and count < THRESHOLD else count
    return figures


def test_summing_rows_against_the_total_cannot_recover_a_suppressed_region() -> None:
    world = region_population(north_east=4, not_recorded=20)
    release = compute_release(world, PERIOD, SMALL_DIMS)
    assert region_count(release, "north_east") is None
    # The attacker's sum: total minus the published regions leaves two hidden cells.
    assert region_count(release, NOT_RECORDED) is None
    # Witnesses: the North East with 0 to 4 organisations gives the identical release.
    for moved in range(1, 5):
        other = compute_release(move_to_not_recorded(world, moved), PERIOD, SMALL_DIMS)
        assert as_bytes(other) == as_bytes(release), moved


def test_summing_rows_recovers_the_cell_from_a_naive_publication() -> None:
    world = region_population(north_east=4, not_recorded=20)
    naive = naive_regions(world)
    assert naive["north_east"] is None
    recovered = naive["all"] - sum(  # type: ignore[operator]
        v for k, v in naive.items() if k not in {"all", "north_east"} and v is not None
    )
    assert recovered == 4
    assert naive_regions(move_to_not_recorded(world, 1)) != naive


def test_differencing_two_releases_that_differ_by_one_case_cannot_recover_a_suppressed_cell() -> (
    None
):
    """Release A; then release B on the same data plus one new case in the North East
    (a correction, say). The North East had 9 organisations: hidden in A. Had B shown it
    (10), the attacker would know it was exactly 9 in A. It stays hidden in B."""
    newcomer = organisation("newcomer", "north_east")
    releases = []
    for moved in (0, 1):
        world = move_to_not_recorded(region_population(north_east=9, not_recorded=20), moved)
        first = compute_release(world, PERIOD, SMALL_DIMS)
        published, suppressed = history(first)
        second = compute_release(
            [*world, newcomer],
            PERIOD,
            SMALL_DIMS,
            previously_published=published,
            previously_suppressed=suppressed,
        )
        assert region_count(first, "north_east") is None
        assert region_count(second, "north_east") is None
        releases.append((as_bytes(first), as_bytes(second)))
    # The North East had 9 or 8 organisations in A: both pairs of releases are identical.
    assert releases[0] == releases[1]


def test_differencing_recovers_the_cell_when_releases_ignore_their_history() -> None:
    newcomer = organisation("newcomer", "north_east")
    seconds = []
    for moved in (0, 1):
        world = move_to_not_recorded(region_population(north_east=9, not_recorded=20), moved)
        seconds.append(compute_release([*world, newcomer], PERIOD, SMALL_DIMS))
    # Without the history, 9 + 1 crosses the threshold and is shown, 8 + 1 is not: the
    # attacker learns the first release hid exactly 9.
    assert region_count(seconds[0], "north_east") is not None
    assert region_count(seconds[1], "north_east") is None


def few_grantees_world(complainants_in_north_east: int) -> list[CaseStatistics]:
    """A regional office (the only one of its type) funds a few groups in the North East;
    seven of them complain about it. Five other North East groups complain about others."""
    grantees = [
        organisation(
            f"grantee{i}",
            "north_east" if i < complainants_in_north_east else None,
            body=FEW_GRANTEES_BODY,
            body_type="grant_distributor",
        )
        for i in range(7)
    ]
    others = [organisation(f"ne-other{i}", "north_east") for i in range(5)]
    rest = [organisation(f"ldn{i}", "london") for i in range(40)]
    rest += [organisation(f"sw{i}", "south_west") for i in range(30)]
    rest += [organisation(f"nr{i}", None) for i in range(20)]
    return [*grantees, *others, *rest]


def test_a_body_with_few_grantees_in_a_region_cannot_tell_which_of_them_complained() -> None:
    world = few_grantees_world(7)
    grid = build_grid(PERIOD, SMALL_DIMS)
    counted = tally(world, grid, SMALL_DIMS)
    north_east = grid.index[f"closed|{YEAR}|region=north_east"]
    # Twelve organisations: enough by number, but seven complained about one body.
    assert counted.counts[north_east] == 12
    assert primary_suppression(counted.counts, counted.top_body)[north_east] == DOMINANCE_REASON
    release = compute_release(world, PERIOD, SMALL_DIMS)
    assert region_count(release, "north_east") is None
    # The body's type has only its own complainants in it: hidden as well.
    types = next(t for t in release.tables if t["name"] == "body_type_by_year")
    assert next(r for r in types["rows"] if r["body_type"] == "grant_distributor")["suppressed"]
    # Witness: whether 7 or 6 of its complaining grantees are in the North East (the other
    # one elsewhere, its region not recorded), the release is identical.
    for in_north_east in (6,):
        assert as_bytes(compute_release(few_grantees_world(in_north_east), PERIOD, SMALL_DIMS)) == (
            as_bytes(release)
        )
    # And no published cell anywhere is more than half that body's grantees.
    truth = reference_cells(world, PERIOD)
    for table in release.tables:
        for row in table["rows"]:
            if row["count"] is None:
                continue
            units, bodies = truth[row_cell_id(PERIOD, str(table["name"]), row)]
            assert 2 * len(bodies.get(FEW_GRANTEES_BODY, set())) <= len(units)


def test_a_naive_publication_shows_the_body_its_grantees_in_the_region() -> None:
    naive = naive_regions(few_grantees_world(7))
    assert naive["north_east"] == 12
    assert naive_regions(few_grantees_world(6))["north_east"] == 11


def test_summing_quarters_from_earlier_releases_against_the_year_total_fails() -> None:
    """Quarters 1, 2 and 4 were published in their own releases and quarter 3 was hidden;
    the year's release then hides the year's total too, so the year cannot give quarter 3
    away by subtraction."""
    world = []
    for quarter, count in ((1, 30), (2, 25), (3, 4), (4, 35)):
        for i in range(count):
            case = organisation(f"q{quarter}-{i}", "london", closed=date(YEAR, 3 * quarter - 1, 10))
            world.append(replace(case, submitted_on=date(YEAR, 3 * quarter - 1, 1)))
    published: set[str] = set()
    suppressed: set[str] = set()
    for quarter in (1, 2, 3, 4):
        release = compute_release(world, Period(YEAR, quarter), SMALL_DIMS)
        more_published, more_suppressed = history(release)
        published |= more_published
        suppressed |= more_suppressed
    assert f"received|{YEAR}-Q3" in suppressed and f"received|{YEAR}-Q1" in published
    year = compute_release(
        world,
        PERIOD,
        SMALL_DIMS,
        previously_published=published,
        previously_suppressed=suppressed,
    )
    national = {(r["quarter"], r["measure"]): r["count"] for r in year.tables[0]["rows"]}
    assert national[("all", "received")] is None
    assert national[(f"{YEAR}-Q3", "received")] is None
    grid = build_grid(PERIOD, SMALL_DIMS)
    hidden = {
        grid.index[row_cell_id(PERIOD, str(t["name"]), row)]
        for t in year.tables
        for row in t["rows"]
        if row["count"] is None
    }
    # Every figure any release published is known to the attacker; nothing hidden follows.
    assert exposed_cells(grid.lines, hidden) == set()


def _received_by_quarter(sizes: Sequence[int]) -> list[CaseStatistics]:
    """Anonymous cases (each its own organisation) received in each quarter of the year,
    all closed in the fourth."""
    cases = []
    for quarter, size in enumerate(sizes, start=1):
        for n in range(size):
            name = f"q{quarter}-{n}"
            cases.append(
                CaseStatistics(
                    unit=f"case:{name}",
                    unit_key=sum(ord(ch) * 131**i for i, ch in enumerate(name)) % 2**31,
                    body=None,
                    body_type="local_authority",
                    region="london",
                    categories=("funding_process",),
                    result="breach_acknowledged",
                    submitted_on=date(YEAR, 3 * quarter - 1, 10),
                    closed_on=date(YEAR, 11, 20),
                )
            )
    return cases


def test_a_quarter_released_after_its_year_does_not_give_back_a_cell_the_year_hid() -> None:
    """The year shows Q1 40, Q2 40 and the total, hiding Q3 (6) and Q4 (20, to protect
    it). Publishing Q4 alone later would give Q3 as the total less the rest: a cell hidden
    in any earlier release stays hidden, whatever its size."""
    cases = _received_by_quarter([40, 40, 6, 20])
    year = compute_release(cases, PERIOD, SMALL_DIMS)
    published, suppressed = history(year)
    quarter = compute_release(
        cases,
        Period(YEAR, 4),
        SMALL_DIMS,
        previously_published=published,
        previously_suppressed=suppressed,
    )
    hidden_in_year = {cell for cell in suppressed if f"{YEAR}-Q4" in cell}
    assert hidden_in_year, "the year hid the fourth quarter, as the attack needs"
    shown_now, _ = history(quarter)
    assert not (hidden_in_year & shown_now)


def test_the_median_counts_each_organisation_once_and_is_rounded() -> None:
    """Nine organisations settled in 5 days; one with fifteen cases took 400 days each.
    Counted per case, the median was that one organisation's time."""
    from datetime import timedelta

    quick = [organisation(f"quick{i}", "london", closed=date(YEAR, 6, 6)) for i in range(9)]
    quick = [replace(c, submitted_on=date(YEAR, 6, 1)) for c in quick]
    slow = [
        replace(
            organisation("slow", "london"),
            body=100 + j,
            submitted_on=date(YEAR - 1, 1, 1) + timedelta(days=j),
            closed_on=date(YEAR - 1, 1, 1) + timedelta(days=j + 400),
        )
        for j in range(15)
    ]
    release = compute_release([*quick, *slow], PERIOD, SMALL_DIMS)
    assert release.median_days_to_resolution != 400
    many = [
        replace(organisation(f"org{i}", "london"), submitted_on=date(YEAR, 1, 1)) for i in range(30)
    ]
    shown = compute_release(many, PERIOD, SMALL_DIMS).median_days_to_resolution
    assert shown is not None and shown % 5 == 0  # rounded, as the counts are


def test_no_median_beside_a_hidden_total_of_closed_cases() -> None:
    """Thirty organisations closed a case in the year: enough for a median. With the
    year's closed total hidden (here because an earlier release hid it), the median is
    not published either: beside hidden closures it would tell what they hide."""
    from mediation.domain.statistics_tables import cell_id

    many = [
        replace(organisation(f"org{i}", "london"), submitted_on=date(YEAR, 1, 1)) for i in range(30)
    ]
    assert compute_release(many, PERIOD, SMALL_DIMS).median_days_to_resolution is not None
    closed_total = cell_id("closed", str(YEAR))
    hidden = compute_release(many, PERIOD, SMALL_DIMS, previously_suppressed={closed_total})
    assert closed_total in history(hidden)[1], "the total is hidden, as the check needs"
    assert hidden.median_days_to_resolution is None
