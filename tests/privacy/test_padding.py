"""Every sealed thing is padded alike, and no exact size is stored in the clear (issue 20).

A ciphertext's length is visible to whoever holds the database. These tests seal what the
service seals, as it seals it, and check that lengths do not tell apart what they hide: a
statistical record's region and size band, the length of a draft's answers, a draft
file's name and size.
"""

from __future__ import annotations

import itertools

import pytest
from flask import Flask
from sqlalchemy import inspect

from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import db
from mediation.models.intake import Draft, DraftDocument
from mediation.models.statistics import StatisticalRecord
from mediation.models.time import utcnow
from mediation.services import complaints, drafts, statistical_records
from mediation.services.intake_rules import DocumentRefused
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    record_context,
    record_from_plaintext,
    seal_record_content,
)
from mediation.vault import (
    SUITES,
    decrypt_symmetric,
    encrypt_symmetric,
    generate_keypair,
    generate_symmetric_key,
    symmetric_key_id,
)
from tests.conftest import StaffFactory

TAXONOMY = load_taxonomy()
REGIONS = [None, *(region.id for region in TAXONOMY.regions)]
SIZE_BANDS = [None, *(band.id for band in TAXONOMY.size_bands)]
CATEGORIES = [category.id for category in TAXONOMY.categories]


def statistics_keys(suite: str) -> StatisticsKeys:
    pair = generate_keypair(suite)
    secret = generate_symmetric_key()
    return StatisticsKeys(
        pairs={pair.key_id: pair},
        symmetric={symmetric_key_id(secret): secret},
        current_public=pair.public_key(),
        current_symmetric_id=symmetric_key_id(secret),
    )


def record_content(
    region: str | None, size_band: str | None, body_type: str, categories: list[str]
) -> dict[str, object]:
    """A statistical record as triage leaves it: the longest fields it can hold."""
    return {
        "anonymous": False,
        "body_type": body_type,
        "categories": categories,
        "organisation": "0123456789abcdef",
        "organisation_key": 2**31 - 1,
        "region": region,
        "result": "mediated_agreement_partial",
        "size_band": size_band,
        "submitted_on": "2025-03-04",
    }


@pytest.mark.parametrize("suite", SUITES)
def test_statistical_records_of_every_region_and_size_band_seal_to_one_length(
    suite: str,
) -> None:
    """Before padding the fast records came in 89 lengths, and a length with the body type
    guessed the region and size band. Now every record, whatever its region, size band,
    body type and categories (none to all of them), seals to one length in each copy."""
    keys = statistics_keys(suite)
    reference = "CM-AAAA-BBBB"
    symmetric_lengths, sealed_lengths = set(), set()
    body_types = [body.id for body in TAXONOMY.body_types]
    category_sets = [CATEGORIES[:n] for n in range(len(CATEGORIES) + 1)]
    for region, size_band in itertools.product(REGIONS, SIZE_BANDS):
        for body_type, categories in zip(
            itertools.cycle(body_types), category_sets + category_sets[::-1], strict=False
        ):
            content = record_content(region, size_band, body_type, categories)
            record = StatisticalRecord()
            seal_record_content(keys, reference, record, content)
            assert record.symmetric is not None and record.sealed is not None
            symmetric_lengths.add(len(record.symmetric))
            sealed_lengths.add(len(record.sealed))
            # Padding comes off exactly.
            secret = keys.symmetric[keys.current_symmetric_id]
            context = record_context(reference)
            plain = decrypt_symmetric(record.symmetric, secret, context)
            assert record_from_plaintext(plain) == content
    assert len(symmetric_lengths) == 1
    assert len(sealed_lengths) == 1


def test_records_sealed_at_intake_do_not_tell_regions_or_size_bands_apart(
    app: Flask, make_staff: StaffFactory
) -> None:
    make_staff("case_officer")
    with app.app_context():
        filed = complaints.file_complaint(
            db.session,
            openness="anonymous",
            narrative="What happened.",
            identity=None,
            respondent_body_id=None,
        )
        lengths = {}
        for region, size_band in itertools.product(REGIONS, SIZE_BANDS):
            record = statistical_records.record_at_intake(
                db.session,
                filed.case,
                categories=CATEGORIES,
                body_type="central_department",
                region=region,
                size_band=size_band,
            )
            assert record.sealed is not None
            lengths[region, size_band] = len(record.sealed)
        db.session.rollback()
    assert len(set(lengths.values())) == 1, lengths


def test_draft_answers_of_different_lengths_seal_to_one_length(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        ticket = drafts.start(db.session, now)
        lengths = []
        for typed in ("", "x", "March 2025", "Wrote to the grants officer twice" * 3):
            drafts.save_step(db.session, ticket, "steps", {"steps_taken": typed}, now)
            draft = db.session.get(Draft, ticket.draft_id)
            assert draft is not None and draft.answers is not None
            lengths.append(len(draft.answers))
        assert len(set(lengths)) == 1
        # Longer answers fall into Padmé's steps: 100 lengths of text, few lengths sealed.
        long_lengths = set()
        for extra in range(100):
            drafts.save_step(
                db.session, ticket, "what_happened", {"text": "y" * (900 + extra)}, now
            )
            draft = db.session.get(Draft, ticket.draft_id)
            assert draft is not None and draft.answers is not None
            long_lengths.add(len(draft.answers))
        assert len(long_lengths) <= 3
        assert drafts.answers(db.session, ticket, now)["what_happened"] == {"text": "y" * 999}
        db.session.rollback()


def test_no_exact_size_of_a_draft_file_is_stored_in_the_clear(app: Flask) -> None:
    with app.app_context():
        columns = {
            column["name"] for column in inspect(db.engine).get_columns(DraftDocument.__tablename__)
        }
    assert columns == {
        "id",
        "draft_id",
        "sealed_name",
        "sealed_content",
        "sealed_cleaning",
        "added_at",
    }


def test_draft_files_are_sealed_padded_and_listed_with_their_exact_sizes(app: Flask) -> None:
    now = utcnow()
    limits = {"max_bytes": 5000, "max_total_bytes": 6000}
    with app.app_context():
        ticket = drafts.start(db.session, now)
        first = drafts.add_document(db.session, ticket, "a.txt", b"m" * 3000, now, **limits)
        second = drafts.add_document(
            db.session, ticket, "minutes of the meeting.txt", b"n" * 2990, now, **limits
        )
        db.session.commit()
        assert (first.size, second.size) == (3000, 2990)
        listed = drafts.list_documents(db.session, ticket, now)
        assert [(d.name, d.size) for d in listed] == [
            ("a.txt", 3000),
            ("minutes of the meeting.txt", 2990),
        ]
        rows = db.session.query(DraftDocument).order_by(DraftDocument.id).all()
        # Names of different lengths, and contents 10 bytes apart, seal alike.
        assert len(rows[0].sealed_name) == len(rows[1].sealed_name)
        assert len(rows[0].sealed_content) == len(rows[1].sealed_content)
        # The limit counts the exact sizes sealed with the names: 5,990 held, 10 more fit,
        # 11 do not.
        with pytest.raises(DocumentRefused):
            drafts.add_document(db.session, ticket, "c.txt", b"o" * 11, now, **limits)
        drafts.add_document(db.session, ticket, "c.txt", b"o" * 10, now, **limits)
        uploads = drafts.read_documents(db.session, ticket, now)
        assert [(u.name, len(u.content)) for u in uploads] == [
            ("a.txt", 3000),
            ("minutes of the meeting.txt", 2990),
            ("c.txt", 10),
        ]
        db.session.rollback()


def test_a_draft_file_attached_before_sizes_were_sealed_keeps_its_size(app: Flask) -> None:
    """A file attached before this change has only its name sealed under the name's
    context: its size comes from its contents."""
    now = utcnow()
    with app.app_context():
        ticket = drafts.start(db.session, now)
        drafts.add_document(
            db.session, ticket, "old.txt", b"q" * 777, now, max_bytes=5000, max_total_bytes=1000
        )
        row = db.session.query(DraftDocument).one()
        context = f"draft:{ticket.draft_id}:document:{row.id}:name"
        row.sealed_name = encrypt_symmetric(b"old.txt", ticket.key, context)
        db.session.flush()
        [listed] = drafts.list_documents(db.session, ticket, now)
        assert (listed.name, listed.size) == ("old.txt", 777)
        with pytest.raises(DocumentRefused):  # 777 + 224 > 1,000
            drafts.add_document(
                db.session, ticket, "new.txt", b"r" * 224, now, max_bytes=5000, max_total_bytes=1000
            )
        assert [u.name for u in drafts.read_documents(db.session, ticket, now)] == ["old.txt"]
        db.session.rollback()
