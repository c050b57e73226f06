"""Ranking the mediator panel for a case, with reasons; the excluded are never proposed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

# Leave starting this soon rules a mediator out: a new case needs them from the start.
LEAVE_HORIZON = timedelta(days=14)
# Words that say nothing about which organisation is meant.
_FILLER = frozenset(
    {"the", "ltd", "limited", "cic", "cio", "plc", "llp", "inc", "co", "uk", "of", "and"}
)

SPECIALISM_POINTS = 3
REGION_POINTS = 2
NATIONAL_POINTS = 1
LANGUAGE_POINTS = 2
CAPACITY_POINTS = 2.0
NO_ACCREDITATION_PENALTY = 2
LOW_CPD_PENALTY = 1
# CPD hours count towards the yearly minimum only when the last CPD was this recent: hours
# recorded with an older date (or none) are a past year's.
CPD_YEAR = timedelta(days=365)


@dataclass(frozen=True)
class LeavePeriod:
    start: date
    end: date  # inclusive

    def overlaps(self, first: date, last: date) -> bool:
        return self.start <= last and self.end >= first


@dataclass(frozen=True)
class PanelMember:
    """What routing knows about one mediator on the panel."""

    user_id: int
    name: str
    active: bool = True
    specialisms: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    capacity: int = 0
    load: int = 0  # cases in hand, offers waiting included
    leave: tuple[LeavePeriod, ...] = ()
    conflict_body_ids: frozenset[int] = frozenset()
    # Organisations the mediator declared an interest in (names as they typed them).
    conflict_organisations: tuple[str, ...] = ()
    accredited: bool = True
    cpd_hours: int = 0
    cpd_last_date: date | None = None

    def cpd_hours_in_year(self, on: date) -> int:
        """The CPD hours that count on this day: none when the last CPD is over a year
        old (or has no date), whatever was once recorded."""
        if self.cpd_last_date is None or self.cpd_last_date < on - CPD_YEAR:
            return 0
        return self.cpd_hours


@dataclass(frozen=True)
class CaseNeeds:
    """What the case asks of a mediator. The complainant organisation is given only in
    memory, by a case officer's session that opened the sealed identity."""

    on: date
    categories: frozenset[str] = frozenset()
    region: str | None = None
    language: str | None = None
    respondent_body_id: int | None = None
    respondent_body_name: str | None = None
    complainant_organisation: str | None = None
    min_cpd_hours: int = 0


@dataclass(frozen=True)
class Proposal:
    user_id: int
    name: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    user_id: int
    name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Ranking:
    proposals: tuple[Proposal, ...] = ()
    excluded: tuple[Exclusion, ...] = field(default_factory=tuple)

    def proposes(self, user_id: int) -> bool:
        return any(p.user_id == user_id for p in self.proposals)


def normalise_organisation(name: str) -> str:
    """Lower case, no accents or punctuation, "&" as "and", filler words dropped."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = text.casefold().replace("&", " and ")
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _FILLER]
    return " ".join(words)


def organisations_match(a: str, b: str) -> bool:
    """Same organisation: equal once normalised, or one name's words run inside the other's
    (e.g. "Ravensmoor Tenants" inside "The Ravensmoor Tenants Advice Collective")."""
    left, right = normalise_organisation(a), normalise_organisation(b)
    if not left or not right:
        return False
    if left == right:
        return True
    short, long = sorted((left, right), key=len)
    if len(short.split()) < 2:
        # One word alone ("Trust", "Council") matches too much to mean the same body.
        return False
    return f" {short} " in f" {long} "


def conflicts(member: PanelMember, needs: CaseNeeds) -> list[str]:
    """Declared interests that rule the mediator out of this case (never names the
    complainant organisation, so the reason can be shown)."""
    found = []
    body_declared = needs.respondent_body_id in member.conflict_body_ids
    body_named = bool(needs.respondent_body_name) and any(
        organisations_match(org, needs.respondent_body_name or "")
        for org in member.conflict_organisations
    )
    if body_declared or body_named:
        found.append("declared an interest in the public body")
    if needs.complainant_organisation and any(
        organisations_match(org, needs.complainant_organisation)
        for org in member.conflict_organisations
    ):
        found.append("declared an interest in the complainant organisation")
    return found


def leave_in_window(member: PanelMember, on: date) -> LeavePeriod | None:
    last = on + LEAVE_HORIZON
    for period in member.leave:
        if period.overlaps(on, last):
            return period
    return None


def exclusions(member: PanelMember, needs: CaseNeeds) -> list[str]:
    """Every reason the mediator cannot be proposed; empty when they can."""
    reasons = []
    if not member.active:
        reasons.append("account is not active")
    reasons += conflicts(member, needs)
    if member.load >= member.capacity:
        reasons.append(f"at capacity ({member.load} of {member.capacity} cases)")
    period = leave_in_window(member, needs.on)
    if period is not None:
        reasons.append(f"on leave from {period.start:%-d %B %Y} to {period.end:%-d %B %Y}")
    return reasons


def score(member: PanelMember, needs: CaseNeeds) -> tuple[float, tuple[str, ...]]:
    """Points for fit, with the reasons shown to the case officer."""
    points = 0.0
    reasons = []
    matched = sorted(needs.categories & member.specialisms)
    if matched:
        points += SPECIALISM_POINTS * len(matched)
        reasons.append("specialises in " + ", ".join(c.replace("_", " ") for c in matched))
    elif needs.categories:
        reasons.append("no specialism in this case's breach categories")
    if needs.region and needs.region in member.regions:
        points += REGION_POINTS
        reasons.append(f"works in the region ({needs.region.replace('_', ' ')})")
    elif "national" in member.regions:
        points += NATIONAL_POINTS
        reasons.append("works nationally")
    elif needs.region:
        reasons.append("does not work in the region")
    if needs.language:
        if needs.language in member.languages:
            points += LANGUAGE_POINTS
            reasons.append(f"speaks the language asked for ({needs.language})")
        else:
            reasons.append(f"does not speak the language asked for ({needs.language})")
    spare = member.capacity - member.load
    if member.capacity > 0:
        points += CAPACITY_POINTS * spare / member.capacity
    reasons.append(f"{spare} of {member.capacity} places free")
    if not member.accredited:
        points -= NO_ACCREDITATION_PENALTY
        reasons.append("no accreditation recorded")
    if needs.min_cpd_hours and member.cpd_hours_in_year(needs.on) < needs.min_cpd_hours:
        points -= LOW_CPD_PENALTY
        if member.cpd_hours >= needs.min_cpd_hours:
            reasons.append("no CPD recorded in the last year")
        else:
            reasons.append(f"CPD below {needs.min_cpd_hours} hours this year")
    return round(points, 2), tuple(reasons)


def rank(panel: Iterable[PanelMember], needs: CaseNeeds) -> Ranking:
    """Proposals best first (ties by name); everyone else with why they were left out."""
    proposals = []
    excluded = []
    for member in panel:
        reasons = exclusions(member, needs)
        if reasons:
            excluded.append(Exclusion(member.user_id, member.name, tuple(reasons)))
            continue
        points, why = score(member, needs)
        proposals.append(Proposal(member.user_id, member.name, points, why))
    proposals.sort(key=lambda p: (-p.score, p.name, p.user_id))
    excluded.sort(key=lambda e: (e.name, e.user_id))
    return Ranking(tuple(proposals), tuple(excluded))
