"""The revisions policy: what a release may show of figures an earlier release published.

Every release keeps, sealed, how many organisations each of its cells counted. Before a
release is published (a new period, or a correction of one), every cell it shares with a
release already out (an earlier version of the period; the year and its quarters) is
compared with what that release counted:

- **Nothing moved** (every shared cell counts as many organisations as then): each shared
  figure is shown exactly as it was published (its value, or hidden), never computed
  again. The earlier and the new release then show one noisy view of the same counts, so
  putting them side by side tells nothing that the new release alone does not. A
  correction with nothing moved is refused: there is nothing to correct.
- **Fewer than a threshold's worth moved** (some shared cell moved, and none by 10 or
  more organisations): refused. These are the changes that single out an organisation (a
  closure contested and reopened, a corrected date): comparing the two releases would show
  which figures held it. The changes wait, unseen, until they are undone or amount to at
  least 10 organisations in one figure; periods that share no figure with a published
  release (the next quarter) are published as usual, with the changed cases as they are
  now.
- **At least a threshold's worth moved** (some shared cell moved by 10 or more, which
  takes at least 10 organisations): published, with every cell key redrawn from a fresh
  random seed, so that no figure keeps its earlier perturbation and figures that moved
  cannot be told from figures that did not. Cells hidden before stay hidden; figures
  published before of cells whose count did not move bound those cells at publication as
  much as the new figures (the integer programme of suppression_bounds takes them in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

THRESHOLD = 10  # as disclosure_control.THRESHOLD: a threshold's worth of organisations


class RevisionRefused(ValueError):
    """The release would show changed figures beside those published before."""


@dataclass(frozen=True)
class EarlierRelease:
    """A release already published: its figures by cell id (None where hidden), and how
    many organisations each cell counted (None for a release from before they were kept).
    `bounded` is False when its figures carry unbounded noise (differential privacy)."""

    release_id: str
    figures: Mapping[str, int | None]
    counts: Mapping[str, int] | None
    bounded: bool = True


@dataclass
class RevisionPlan:
    """How a release shows the cells it shares with releases already published."""

    frozen: dict[str, int | None] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)
    suppressed_before: set[str] = field(default_factory=set)
    earlier_values: dict[str, list[int]] = field(default_factory=dict)
    redraw: bool = False
    moved: int = 0
    changed_cells: int = 0

    @property
    def changed(self) -> bool:
        return self.changed_cells > 0


def plan_revision(
    label: str, counts: Mapping[str, int], earlier: Sequence[EarlierRelease]
) -> RevisionPlan:
    """The plan for a release of `label` whose cells count `counts` organisations now,
    given the releases already published (oldest first). RevisionRefused if the policy
    forbids publishing it now."""
    plan = RevisionPlan()
    changed: set[str] = set()
    moved_in: list[str] = []
    unchanged_since: dict[str, list[EarlierRelease]] = {}
    for release in earlier:
        shared = [cell for cell in release.figures if cell in counts]
        if not shared:
            continue
        if release.counts is None:
            raise RevisionRefused(
                f"{label} shares figures with {release.release_id}, which was published "
                "before releases kept how many organisations each figure counted, so whether "
                "they have changed since cannot be checked. It cannot be published beside it."
            )
        moved_here = False
        for cell in shared:
            then = release.counts.get(cell, 0)
            delta = abs(counts[cell] - then)
            if delta:
                changed.add(cell)
                moved_here = True
                plan.moved = max(plan.moved, delta)
            else:
                unchanged_since.setdefault(cell, []).append(release)
        if moved_here:
            moved_in.append(release.release_id)
    plan.changed_cells = len(changed)
    if not changed:
        for release in earlier:
            for cell, figure in release.figures.items():
                if cell in counts:
                    plan.frozen[cell] = figure  # the latest publication of the cell
        return plan
    if plan.moved < THRESHOLD:
        figures = "figure" if len(changed) == 1 else "figures"
        raise RevisionRefused(
            f"{label} cannot be published now: since {', '.join(moved_in)} "
            f"{'was' if len(moved_in) == 1 else 'were'} published, the organisations counted "
            f"in {len(changed)} {figures} shared with it have changed, by at most "
            f"{plan.moved}. Shown beside the earlier figures, the new ones would single out "
            "the few organisations whose cases changed. The changes wait: this can be "
            f"published once they amount to at least {THRESHOLD} organisations in one "
            "figure (or are undone)."
        )
    plan.redraw = True
    for release in earlier:
        for cell, figure in release.figures.items():
            if cell not in counts:
                continue
            if figure is None:
                plan.suppressed_before.add(cell)
            elif release in unchanged_since.get(cell, ()):
                plan.fixed.add(cell)
                if release.bounded:
                    plan.earlier_values.setdefault(cell, []).append(figure)
    return plan
