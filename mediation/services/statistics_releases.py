"""Publishing statistics releases: computed in a case officer's session, stored immutably
with a SHA-256, corrected only by a new version with a note and only as the revisions
policy allows (mediation/domain/statistics_revisions.py), within the privacy budget."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.domain.differential_privacy import (
    NoiseSource,
    PrivacyBudgetExceeded,
    check_budget,
    opendp_discrete_laplace,
    plan_noise,
)
from mediation.domain.disclosure_control import PinnedCell, compute_release, tally
from mediation.domain.statistics_periods import (
    Period,
    PeriodRefused,
    parse_period,
    period_from_label,
)
from mediation.domain.statistics_revisions import EarlierRelease, RevisionRefused, plan_revision
from mediation.domain.statistics_tables import build_grid, row_cell_id
from mediation.domain.suppression_bounds import InfeasibleFigures
from mediation.models.releases import StatisticsRelease, StatisticsReleaseCounts
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.errors import ServiceError
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    collect_inputs,
    count_inputs,
    garbage_collection_paused,
    taxonomy_dimensions,
    unlock_statistics,
)
from mediation.vault import KeyPair, decrypt_symmetric, encrypt_symmetric

# Defaults for the optional differential privacy (settings STATISTICS_DP_EPSILON, per
# release, and STATISTICS_DP_BUDGET, per calendar year of data).
DEFAULT_DP_BUDGET = 3.0


class ReleaseRefused(ServiceError):
    default_message = "That release could not be published."


def canonical_json(value: Any) -> bytes:
    """The one byte form a release's content is stored, hashed and checked in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def content_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def latest_version(session: Session, period: str) -> StatisticsRelease | None:
    return session.execute(
        select(StatisticsRelease)
        .where(StatisticsRelease.period == period)
        .order_by(StatisticsRelease.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def budget_spent(session: Session, year: int) -> float:
    """The privacy budget (epsilon) spent by every release of a calendar year so far."""
    spent = session.execute(
        select(func.coalesce(func.sum(StatisticsRelease.epsilon), 0.0)).where(
            StatisticsRelease.budget_year == year
        )
    ).scalar_one()
    return float(spent or 0.0)


def year_uses_noise(session: Session, year: int) -> bool:
    return (
        session.execute(
            select(StatisticsRelease.id)
            .where(StatisticsRelease.budget_year == year, StatisticsRelease.epsilon.is_not(None))
            .limit(1)
        ).first()
        is not None
    )


def _counts_context(release_id: str) -> str:
    return f"statistics-release:{release_id}:revision-counts"


def seal_revision_counts(
    keys: StatisticsKeys, release_id: str, counts: dict[str, int]
) -> tuple[bytes, str]:
    """How many organisations each cell counted, sealed under the symmetric statistics key
    (they include the hidden cells' true counts)."""
    plain = canonical_json(counts)
    return (
        encrypt_symmetric(plain, keys.current_symmetric, _counts_context(release_id)),
        keys.current_symmetric_id,
    )


def _open_counts(
    keys: StatisticsKeys, release_id: str, row: StatisticsReleaseCounts
) -> dict[str, int]:
    secret = keys.symmetric.get(row.key_id)
    if secret is None:
        raise ReleaseRefused(
            f"The counts kept with {release_id} are sealed under a statistics key you do not hold."
        )
    counts: dict[str, int] = json.loads(
        decrypt_symmetric(row.sealed, secret, _counts_context(release_id))
    )
    return counts


def reseal_release_counts(session: Session, officer_key: KeyPair) -> int:
    """Part of `vault rotate`, after the statistics keys were renewed: every release's
    counts re-sealed under the current symmetric statistics key. Returns how many."""
    keys = unlock_statistics(session, officer_key)
    count = 0
    for row, release_id in session.execute(
        select(StatisticsReleaseCounts, StatisticsRelease.release_id).join(
            StatisticsRelease, StatisticsRelease.id == StatisticsReleaseCounts.release_id
        )
    ):
        if row.key_id == keys.current_symmetric_id:
            continue
        counts = _open_counts(keys, release_id, row)
        row.sealed, row.key_id = seal_revision_counts(keys, release_id, counts)
        count += 1
    return count


def earlier_releases(
    session: Session, keys: StatisticsKeys, period: Period
) -> list[EarlierRelease]:
    """Every release already published whose cells a release of `period` may share (those
    of the same calendar year: its versions, the year and its quarters), oldest first,
    with the counts they kept opened."""
    kept = {
        row.release_id: row for row in session.execute(select(StatisticsReleaseCounts)).scalars()
    }
    found = []
    for release in session.execute(
        select(StatisticsRelease).order_by(StatisticsRelease.published_at, StatisticsRelease.id)
    ).scalars():
        released = period_from_label(release.period)
        if released.year != period.year:
            continue
        figures: dict[str, int | None] = {}
        for table in json.loads(release.content)["tables"]:
            for row in table["rows"]:
                figures[row_cell_id(released, table["name"], row)] = row["count"]
        counts_row = kept.get(release.id)
        counts = None if counts_row is None else _open_counts(keys, release.release_id, counts_row)
        found.append(
            EarlierRelease(release.release_id, figures, counts, bounded=release.epsilon is None)
        )
    return found


@dataclass(frozen=True)
class PrivacySettings:
    """Optional differential privacy for one release: epsilon to spend, the yearly budget."""

    epsilon: float | None = None
    budget: float = DEFAULT_DP_BUDGET


def publish_release(
    session: Session,
    officer: StaffUser,
    officer_key: KeyPair,
    period_text: str,
    *,
    note: str | None = None,
    correction: bool = False,
    privacy: PrivacySettings | None = None,
    today: date | None = None,
    progress_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    noise_source: NoiseSource = opendp_discrete_laplace,
) -> StatisticsRelease:
    """Compute and store a release (or, with `correction`, the next version of one, which
    needs a note). Refusals are ReleaseRefused with a message to show. Caller commits."""
    today = today or date.today()
    privacy = privacy or PrivacySettings()
    note = (note or "").strip() or None
    try:
        period = parse_period(period_text, today)
    except PeriodRefused as exc:
        raise ReleaseRefused(str(exc)) from None
    previous = latest_version(session, period.label)
    if previous is not None and not correction:
        raise ReleaseRefused(
            f"{period.label} is already published (version {previous.version}). A release "
            "is never changed: to correct it, publish a correction with a note saying what "
            "changed and why."
        )
    if correction and previous is None:
        raise ReleaseRefused(f"{period.label} has not been published yet: nothing to correct.")
    if correction and note is None:
        raise ReleaseRefused("A correction needs a note saying what changed and why.")
    noise_plan = None
    if privacy.epsilon is not None:
        sensitivity = len(build_grid(period, taxonomy_dimensions()).national_cells())
        try:
            noise_plan = plan_noise(privacy.epsilon, sensitivity)
            check_budget(
                period.budget_year,
                budget_spent(session, period.budget_year),
                noise_plan.epsilon,
                privacy.budget,
            )
        except PrivacyBudgetExceeded as exc:
            raise ReleaseRefused(str(exc)) from None
        except ValueError as exc:
            raise ReleaseRefused(f"The privacy setting is wrong: {exc}.") from None
    elif year_uses_noise(session, period.budget_year):
        raise ReleaseRefused(
            f"Releases for {period.budget_year} carry differential-privacy noise; one without "
            "it would undo that protection. Publish it with noise (an epsilon) instead."
        )
    keys = unlock_statistics(session, officer_key)
    dims = taxonomy_dimensions()
    if progress_total is not None:
        progress_total(count_inputs(session, period))
    with garbage_collection_paused():
        inputs = collect_inputs(session, keys, period, progress)
        grid = build_grid(period, dims)
        counted = tally(inputs.rows, grid, dims)
        counts = dict(zip(grid.cell_ids, counted.counts, strict=True))
        try:
            plan = plan_revision(period.label, counts, earlier_releases(session, keys, period))
        except RevisionRefused as exc:
            raise ReleaseRefused(str(exc)) from None
        if previous is not None and not plan.changed:
            raise ReleaseRefused(
                f"Nothing changed: recomputed now, every figure of {period.label} counts the "
                f"same organisations as in version {previous.version}, so there is nothing "
                "to correct."
            )
        try:
            computed = compute_release(
                inputs.rows,
                period,
                dims,
                previously_published=plan.fixed,
                previously_suppressed=plan.suppressed_before,
                frozen=plan.frozen,
                earlier_values=plan.earlier_values,
                noise_plan=noise_plan,
                noise_source=noise_source,
                # A release after changes of many organisations redraws every cell key.
                seed=secrets.token_bytes(32) if plan.redraw else None,
                counted=counted,
            )
        except (PinnedCell, InfeasibleFigures) as exc:
            raise ReleaseRefused(f"{period.label} cannot be published safely: {exc}") from None
        del inputs.rows[:]  # a million rows, freed before the collector runs again
    content = computed.content()
    sha256 = content_sha256(content)
    version = 1 if previous is None else previous.version + 1
    release_id = f"{period.label}-v{version}"
    sealed_counts, counts_key_id = seal_revision_counts(keys, release_id, counts)
    release = StatisticsRelease(
        release_id=release_id,
        period=period.label,
        period_kind=period.kind,
        version=version,
        supersedes_id=None if previous is None else previous.id,
        note=note,
        published_on=today,
        published_at=utcnow(),
        published_by_id=officer.id,
        content=canonical_json(content).decode("utf-8"),
        sha256=sha256,
        inputs_sha256=inputs.sha256,
        budget_year=period.budget_year,
        epsilon=computed.epsilon,
    )
    session.add(release)
    session.flush()
    session.add(
        StatisticsReleaseCounts(release_id=release.id, sealed=sealed_counts, key_id=counts_key_id)
    )
    record(
        session,
        actor_for(officer),
        "statistics.release_corrected" if previous else "statistics.release_published",
        details={
            "release": release.release_id,
            "period": period.label,
            "version": version,
            "sha256": sha256,
            "epsilon": computed.epsilon,
        },
    )
    return release
