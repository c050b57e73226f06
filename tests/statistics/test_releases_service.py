"""Publishing releases: immutable storage, checksums, corrections, re-sealing, pseudonyms,
the privacy budget and who may compute a release."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case
from mediation.models.casework import Outcome, TriageRecord
from mediation.models.releases import StatisticsRelease
from mediation.models.statistics import OrganisationPseudonym, StatisticalRecord
from mediation.services import complaints, keyring, statistical_records
from mediation.services.errors import InvalidInput, ServiceError
from mediation.services.organisation_pseudonyms import set_organisation_pseudonym
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from mediation.services.statistics_open_data import (
    ReleaseTampered,
    all_releases,
    get_release,
    release_document,
)
from mediation.services.statistics_releases import (
    PrivacySettings,
    ReleaseRefused,
    content_sha256,
    publish_release,
)
from tests import seeded
from tests.conftest import ON_POSTGRES, TEST_PASSWORD, StaffFactory
from tests.statistics.conftest import Officer, add_cases, historic

TODAY = date(2026, 11, 25)


def london_year(count: int, *, north_east: int = 0, prefix: str = "o") -> list:  # type: ignore[type-arg]
    cases = [
        historic(
            date(2025, 2, 1), date(2025, 5, 1), organisation=f"{prefix}{i}", record_key=i * 7919
        )
        for i in range(count)
    ]
    cases += [
        historic(
            date(2025, 3, 1),
            date(2025, 7, 1),
            region="north_east",
            organisation=f"{prefix}ne{i}",
            record_key=i * 104729 + 3,
        )
        for i in range(north_east)
    ]
    return cases


def publish(officer: Officer, period: str, **options: object) -> StatisticsRelease:
    release = publish_release(
        db.session,
        officer.user,
        officer.key,
        period,
        today=TODAY,
        **options,  # type: ignore[arg-type]
    )
    db.session.commit()
    return release


def test_a_release_is_stored_with_the_sha256_of_its_content_and_never_changed(
    officer: Officer,
) -> None:
    add_cases(officer, london_year(30))
    release = publish(officer, "2025")
    assert release.release_id == "2025-v1" and release.version == 1
    content = json.loads(release.content)
    assert content_sha256(content) == release.sha256
    assert release.published_by_id == officer.user.id
    read = get_release(db.session, "2025-v1")
    document = release_document(read)
    assert document["release"]["sha256"] == release.sha256
    assert {t["name"] for t in document["tables"]} >= {"national_by_quarter", "region_by_year"}
    for statement in (
        "UPDATE statistics_releases SET content = '{}'",
        "DELETE FROM statistics_releases",
    ):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(select(StatisticsRelease.sha256)).scalar_one() == release.sha256


def test_a_release_edited_behind_the_triggers_back_is_refused_when_read(
    officer: Officer,
) -> None:
    add_cases(officer, london_year(30))
    release = publish(officer, "2025")
    if ON_POSTGRES:
        db.session.execute(text("SET session_replication_role = replica"))
    else:
        db.session.execute(text("DROP TRIGGER statistics_releases_no_update"))
    content = json.loads(release.content)
    row = next(r for r in content["tables"][0]["rows"] if r["count"] is not None)
    row["count"] += 5  # a figure nudged after publication
    db.session.execute(
        text("UPDATE statistics_releases SET content = :content"),
        {"content": json.dumps(content, sort_keys=True, separators=(",", ":"))},
    )
    db.session.commit()
    if ON_POSTGRES:
        db.session.execute(text("SET session_replication_role = DEFAULT"))
    with pytest.raises(ReleaseTampered):
        all_releases(db.session)


def test_a_period_is_published_once_and_a_correction_needs_a_note(officer: Officer) -> None:
    add_cases(officer, london_year(30))
    publish(officer, "2025")
    with pytest.raises(ReleaseRefused, match="already published"):
        publish(officer, "2025")
    with pytest.raises(ReleaseRefused, match="needs a note"):
        publish(officer, "2025", correction=True)
    with pytest.raises(ReleaseRefused, match="nothing to correct"):
        publish(officer, "2024", correction=True, note="Late outcomes")
    with pytest.raises(ReleaseRefused, match="Nothing changed"):
        publish(officer, "2025", correction=True, note="Checking again")


def test_a_correction_is_a_new_version_and_the_first_stays_in_the_archive(
    officer: Officer,
) -> None:
    add_cases(officer, london_year(30))
    first = publish(officer, "2025")
    add_cases(officer, london_year(12, prefix="late"))
    second = publish(officer, "2025", correction=True, note="Twelve complaints recorded late")
    assert second.release_id == "2025-v2" and second.supersedes_id == first.id
    releases = {r.id: r for r in all_releases(db.session)}
    assert releases["2025-v1"].superseded_by == "2025-v2"
    assert releases["2025-v2"].note == "Twelve complaints recorded late"
    assert releases["2025-v2"].is_current and not releases["2025-v1"].is_current
    assert second.sha256 != first.sha256


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-Q4", "has not closed yet"),
        ("2025-Q3..2025-Q4", "rolling window"),
        ("2025-06", "not by half-year, month"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_message(
    officer: Officer, period: str, message: str
) -> None:
    with pytest.raises(ReleaseRefused, match=message):
        publish(officer, period)
    assert db.session.execute(select(StatisticsRelease.id)).first() is None


def test_records_sealed_at_intake_are_resealed_under_the_symmetric_key(
    officer: Officer,
) -> None:
    filed = seeded.file_seeded()
    case = filed.case
    case.submitted_on = date(2025, 4, 2)
    case.closed_on = date(2025, 8, 1)
    case.state = "closed"
    statistical_records.record_at_intake(
        db.session,
        case,
        categories=["consultation"],
        body_type="nhs_body",
        region="north_west",
        size_band="micro",
    )
    db.session.commit()
    record = db.session.execute(select(StatisticalRecord)).scalar_one()
    assert record.symmetric is None and record.sealed is not None
    keys = unlock_statistics(db.session, officer.key)
    inputs = collect_inputs(db.session, keys, Period(2025))
    db.session.commit()
    assert inputs.resealed == 1 and len(inputs.cases) == 1
    assert inputs.cases[0].region == "north_west" and inputs.cases[0].categories == (
        "consultation",
    )
    db.session.refresh(record)
    assert record.symmetric is not None and record.symmetric_key_id == keys.current_symmetric_id
    again = collect_inputs(db.session, unlock_statistics(db.session, officer.key), Period(2025))
    assert again.resealed == 0 and again.sha256 == inputs.sha256


def test_casework_decisions_override_what_was_said_at_intake(officer: Officer) -> None:
    """The categories confirmed at triage and the recorded outcome's result are what a
    release counts, not the complainant's first choice."""
    filed = seeded.file_seeded("anonymous")
    case = filed.case
    case.submitted_on, case.closed_on, case.state = date(2025, 4, 2), date(2025, 8, 1), "closed"
    statistical_records.record_at_intake(
        db.session, case, categories=["consultation"], body_type=None, region=None, size_band=None
    )
    keys = unlock_statistics(db.session, officer.key)
    before = collect_inputs(db.session, keys, Period(2025))
    assert before.cases[0].categories == ("consultation",) and before.cases[0].result is None
    db.session.add_all(
        [
            TriageRecord(
                case_id=case.id,
                categories=["funding_change", "funding_process"],
                body_confirmed=True,
                triaged_on=date(2025, 4, 9),
            ),
            Outcome(
                case_id=case.id, result="mediated_agreement_full", recorded_on=date(2025, 8, 1)
            ),
        ]
    )
    db.session.flush()
    after = collect_inputs(db.session, keys, Period(2025))
    assert after.cases[0].categories == ("funding_change", "funding_process")
    assert after.cases[0].result == "mediated_agreement_full"
    assert after.sha256 != before.sha256


def test_an_organisation_pseudonym_links_its_cases_without_storing_its_name(
    officer: Officer,
) -> None:
    names = [
        "Ravensmoor Tenants Advice Collective",
        "The Ravensmoor tenants' advice collective Ltd",
    ]
    cases = []
    for name in names:
        filed = seeded.file_seeded(organisation=name)
        filed.case.closed_on = date(2025, 6, 1)
        filed.case.submitted_on = date(2025, 1, 10)
        statistical_records.record_at_intake(
            db.session, filed.case, categories=[], body_type=None, region="london", size_band=None
        )
        cases.append(filed.case)
    db.session.commit()
    pseudonyms = [
        set_organisation_pseudonym(db.session, officer.user, officer.key, case, name)
        for case, name in zip(cases, names, strict=True)
    ]
    db.session.commit()
    assert pseudonyms[0] == pseudonyms[1]
    # The organisation's record key is its own (until 2026-12-08 it was its first case's,
    # which named that case; tests/privacy/statistics/test_pseudonym_linkage.py).
    assert db.session.execute(select(OrganisationPseudonym)).scalars().all()[0].record_key not in {
        case.record_key for case in cases
    }
    inputs = collect_inputs(db.session, unlock_statistics(db.session, officer.key), Period(2025))
    assert {c.unit for c in inputs.cases} == {f"org:{pseudonyms[0]}"}
    # Neither the name nor the pseudonym's link to the cases is readable from the database.
    for row in db.session.execute(select(OrganisationPseudonym)).scalars():
        assert (
            "ravensmoor"
            not in json.dumps([row.name_digest, row.pseudonym, row.digest_key_id]).lower()
        )
    anonymous = complaints.file_complaint(
        db.session, openness="anonymous", narrative="x", identity=None, respondent_body_id=None
    ).case
    with pytest.raises(InvalidInput, match="anonymous"):
        set_organisation_pseudonym(db.session, officer.user, officer.key, anonymous, "Someone")
    entries = db.session.execute(select(AuditEntry)).scalars().all()
    assert not any("Ravensmoor" in json.dumps([e.details, e.reason]) for e in entries)


def test_the_privacy_budget_is_recorded_and_enforced(officer: Officer) -> None:
    add_cases(officer, london_year(40))
    privacy = PrivacySettings(epsilon=1.0, budget=1.5)
    first = publish(officer, "2025-Q1", privacy=privacy)
    assert first.epsilon == pytest.approx(1.0) and first.budget_year == 2025
    with pytest.raises(ReleaseRefused, match="privacy budget"):
        publish(officer, "2025-Q2", privacy=privacy)
    with pytest.raises(ReleaseRefused, match="carry differential-privacy noise"):
        publish(officer, "2025-Q2")
    # Another year has its own budget.
    assert publish(officer, "2024-Q2", privacy=privacy).epsilon == pytest.approx(1.0)
    published = get_release(db.session, "2025-Q1-v1")
    for row in published.tables[0]["rows"]:
        assert row["count"] is None or (row["count"] % 5 == 0 and row["count"] >= 10)


def test_only_a_holder_of_the_statistics_key_can_compute_a_release(
    officer: Officer, make_staff: StaffFactory
) -> None:
    from mediation.models.staff import StaffUser

    add_cases(officer, london_year(20))
    login = make_staff("mediator")
    mediator = db.session.get(StaffUser, login.id)
    assert mediator is not None
    mediator_key = keyring.unlock(db.session, mediator, TEST_PASSWORD)
    assert mediator_key is not None
    with pytest.raises(ServiceError, match="statistics key"):
        publish_release(db.session, mediator, mediator_key, "2025", today=TODAY)


def test_a_correction_one_case_later_keeps_a_small_cell_hidden(officer: Officer) -> None:
    """End to end: the North East had 9 organisations (hidden); one more case is added and
    a correction published; the North East stays hidden instead of showing 10."""
    add_cases(officer, london_year(40, north_east=9))
    first = get_release(db.session, publish(officer, "2025").release_id)
    assert first.count("region_by_year", region="north_east") is None
    add_cases(
        officer,
        [
            historic(
                date(2025, 3, 1),
                date(2025, 7, 1),
                region="north_east",
                organisation="newcomer",
                record_key=99,
            )
        ],
    )
    # One organisation changed: the revisions policy refuses the correction (until 2026-12-08
    # it was published, with the North East kept hidden; the pair of versions still showed
    # which figures held the newcomer). The change waits for nine more.
    with pytest.raises(ReleaseRefused, match="changes wait"):
        publish(officer, "2025", correction=True, note="One complaint recorded late")
    current = [r for r in all_releases(db.session) if r.is_current]
    assert len(current) == 1
    assert current[0].count("region_by_year", region="north_east") is None


def test_publishing_is_audited_without_any_case_content(officer: Officer) -> None:
    add_cases(officer, london_year(30))
    publish(officer, "2025")
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "statistics.release_published")
    ).scalar_one()
    assert entry.details["release"] == "2025-v1" and entry.actor_id == officer.user.id
    assert entry.case_reference is None
    references = db.session.execute(select(Case.reference)).scalars().all()
    assert not any(ref in json.dumps(entry.details) for ref in references)


def test_what_each_release_counted_is_sealed_and_resealed_at_a_key_rotation(
    officer: Officer,
) -> None:
    """The counts the revisions policy compares are kept sealed beside each release, and
    move to the new symmetric key at `vault rotate`, so a custodian who holds only the
    new keys can still publish the year after its quarters."""
    from mediation.models.releases import StatisticsReleaseCounts
    from mediation.services.statistics_releases import earlier_releases
    from mediation.services.vault_admin import rotate

    add_cases(officer, london_year(30))
    first = publish(officer, "2025-Q1")
    kept = db.session.execute(select(StatisticsReleaseCounts)).scalar_one()
    assert kept.release_id == first.id and b"received" not in kept.sealed
    rotate(db.session, officer.user, officer.key, "mlkem768-x25519")
    db.session.commit()
    keys = unlock_statistics(db.session, officer.key)
    db.session.refresh(kept)
    assert kept.key_id == keys.current_symmetric_id
    keys.symmetric = {keys.current_symmetric_id: keys.current_symmetric}
    (earlier,) = earlier_releases(db.session, keys, Period(2025))
    assert earlier.counts is not None and earlier.counts["received|2025-Q1"] == 30
    year = publish(officer, "2025")
    assert year.release_id == "2025-v1"
