"""The statistical record of each case, sealed, and the statistics key that opens it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db
from mediation.models.time import utcnow


class StatisticsKey(db.Model):  # type: ignore[name-defined,misc]
    """The service's statistics key pair; its private half is sealed to each custodian."""

    __tablename__ = "statistics_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suite: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StatisticsKeyGrant(db.Model):  # type: ignore[name-defined,misc]
    """The statistics private key sealed to one case officer's key."""

    __tablename__ = "statistics_key_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statistics_key_id: Mapped[int] = mapped_column(
        ForeignKey("statistics_keys.id", ondelete="CASCADE"), index=True
    )
    holder_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    holder_key_id: Mapped[str] = mapped_column(String(32), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)


class StatisticalRecord(db.Model):  # type: ignore[name-defined,misc]
    """What a case contributes to statistics (categories, body type, region, size band,
    dates, outcome), sealed: region and size band can narrow down a small charity."""

    __tablename__ = "statistical_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    # Sealed at intake to the statistics public key (HPKE).
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_key_id: Mapped[str | None] = mapped_column(String(32))
    # Re-sealed under the symmetric statistics key once opened in a case officer's session,
    # so that a release over many cases stays fast.
    symmetric: Mapped[bytes | None] = mapped_column(LargeBinary)
    symmetric_key_id: Mapped[str | None] = mapped_column(String(32))


class StatisticsSymmetricKey(db.Model):  # type: ignore[name-defined,misc]
    """A symmetric key for re-sealed statistical records, sealed to the statistics public
    key: whoever can open the statistics key (a custodian) can open it; analysts never."""

    __tablename__ = "statistics_symmetric_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    statistics_key_id: Mapped[int] = mapped_column(
        ForeignKey("statistics_keys.id", ondelete="CASCADE"), index=True
    )
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OrganisationDigestKey(db.Model):  # type: ignore[name-defined,misc]
    """The key of the organisation-name digests: 32 random bytes made once and kept for
    good, sealed (HPKE) to the live statistics public key only.

    Key rotation re-seals it to the new statistics key in place (no copy stays under the
    retired one) and never replaces it, so every digest made before a rotation still
    matches after it (see mediation/services/organisation_pseudonyms.py).
    """

    __tablename__ = "organisation_digest_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    # The statistics key the envelope is sealed to. Unique, so two case officers linking
    # the service's first organisation at the same moment cannot make two digest keys.
    statistics_key_id: Mapped[int] = mapped_column(ForeignKey("statistics_keys.id"), unique=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OrganisationPseudonym(db.Model):  # type: ignore[name-defined,misc]
    """A random pseudonym that links the cases of one complainant organisation.

    The organisation's name is never stored: only a keyed hash of it, under the
    organisation digest key (`digest_key_id`), which only a custodian can open, so the
    database alone cannot test a name. Which cases carry the pseudonym is inside their
    sealed statistical records.
    """

    __tablename__ = "organisation_pseudonyms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_digest: Mapped[str] = mapped_column(String(64), unique=True)
    digest_key_id: Mapped[str] = mapped_column(String(32))
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    # The organisation's record key for the cell-key method: random, drawn when the
    # pseudonym is made (until migration 0025 it was its first case's, which named it).
    record_key: Mapped[int] = mapped_column(Integer)
    created_on: Mapped[date] = mapped_column(Date)
