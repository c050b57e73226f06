"""The compact plaintext of statistical records' symmetric copies: it holds a record
exactly or is not used, and a release reads it exactly as it reads the older JSON form."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.casework import Outcome, TriageRecord
from mediation.models.statistics import StatisticalRecord
from mediation.services.statistics_inputs import (
    COMPACT_FIELDS,
    COMPACT_RECORD,
    StatisticsKeys,
    collect_inputs,
    decode_compact_record,
    encode_compact_record,
    record_context,
    record_from_plaintext,
    record_plaintext,
)
from mediation.vault import decrypt_symmetric, encrypt_symmetric
from tests.statistics.conftest import Officer, add_cases, historic

# Values chosen to trip the compact form: its separators and markers inside text, empty
# text, flags and numbers where text is expected, and the reverse.
TRICKY_TEXT = st.text(alphabet=st.sampled_from(["a", "é", ",", "[", "\x1f", "\x00", "0", "1"]))
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    TRICKY_TEXT,
    st.lists(TRICKY_TEXT, max_size=3),
)
CONTENTS = st.dictionaries(st.sampled_from((*COMPACT_FIELDS, "other")), VALUES, max_size=10)


def as_json(content: dict[str, Any]) -> str:
    """Equal as JSON: True and 1, or 1 and 1.0, are not the same field."""
    return json.dumps(content, sort_keys=True)


@settings(max_examples=500, deadline=None)
@given(content=CONTENTS)
def test_the_compact_form_holds_a_record_exactly_or_not_at_all(content: dict[str, Any]) -> None:
    encoded = encode_compact_record(content)
    if encoded is not None:
        assert encoded[:1] == COMPACT_RECORD
        assert as_json(decode_compact_record(encoded)) == as_json(content)
    plain = record_plaintext(content)
    assert as_json(record_from_plaintext(plain)) == as_json(content)


def test_an_ordinary_record_is_compact() -> None:
    content = {
        "anonymous": False,
        "body_type": "nhs_body",
        "categories": ["consultation", "funding_process"],
        "organisation": "3f2a9c",
        "organisation_key": 123456,
        "region": None,
        "size_band": "small",
        "submitted_on": "2025-03-04",
    }
    plain = record_plaintext(content)
    assert plain[:1] == COMPACT_RECORD
    assert len(plain) < len(as_json(content)) / 2


def rewrite(keys: StatisticsKeys, change: Any) -> None:
    """Rewrite every record's symmetric copy: `change(content)` gives the plaintext."""
    for record, reference in db.session.execute(
        select(StatisticalRecord, Case.reference).join(Case, Case.id == StatisticalRecord.case_id)
    ):
        context = record_context(reference)
        content = record_from_plaintext(
            decrypt_symmetric(record.symmetric, keys.current_symmetric, context)
        )
        record.symmetric = encrypt_symmetric(change(content), keys.current_symmetric, context)
    db.session.flush()


def test_a_release_reads_compact_and_json_copies_alike(officer: Officer) -> None:
    year = (date(2025, 2, 3), date(2025, 6, 30))
    keys = add_cases(
        officer,
        [
            historic(*year, organisation="a", record_key=11),
            historic(*year, organisation="a", record_key=11, region="north_east"),
            historic(*year, record_key=12, categories=()),
            historic(*year, organisation="b", record_key=13, categories=("equality", "x")),
            historic(date(2024, 11, 1), date(2025, 1, 9), organisation="c", record_key=14),
            historic(date(2025, 12, 1), None, record_key=15, result="withdrawn"),
        ],
    )
    cases = db.session.execute(select(Case).order_by(Case.id)).scalars().all()
    db.session.add_all(
        [
            TriageRecord(
                case_id=cases[0].id,
                categories=["independence", "consultation"],
                body_confirmed=True,
                triaged_on=date(2025, 2, 10),
            ),
            Outcome(case_id=cases[3].id, result="not_upheld", recorded_on=date(2025, 6, 30)),
        ]
    )

    def unusual(content: dict[str, Any]) -> bytes:
        # Fields an older record may lack or hold as null.
        if content.get("organisation") == "b":
            del content["organisation_key"]
            content.update(body_type=None, region=None, result=None)
        if content.get("organisation") == "c":
            del content["result"]
            content["anonymous"] = None
        return record_plaintext(content)

    rewrite(keys, unusual)
    compact = collect_inputs(db.session, keys, Period(2025))
    assert compact.resealed == 0 and len(compact.rows) == 6
    rewrite(keys, lambda content: as_json(content).encode())
    from_json = collect_inputs(db.session, keys, Period(2025))
    assert from_json.rows == compact.rows
    assert from_json.sha256 == compact.sha256
    # The older JSON copies are re-sealed compact on the way, and read alike from then on.
    assert from_json.resealed == 6
    again = collect_inputs(db.session, keys, Period(2025))
    assert again.resealed == 0 and again.rows == compact.rows and again.sha256 == compact.sha256
    units = [row[0] for row in compact.rows]
    assert units[0] == units[1] == "org:a" and units[2].startswith("case:")
    assert compact.rows[0][5] == ("consultation", "independence")
    assert compact.rows[3][1:7] == (13, None, None, None, ("equality", "x"), "not_upheld")
