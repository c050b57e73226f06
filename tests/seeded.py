"""Known secret strings that tests seed, and which must never appear in a dump or a log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediation.services.complaints import Filed

IDENTITY = {
    "organisation": "Ravensmoor Tenants Advice Collective",
    "contact_name": "Philippa Quenby-Hartswood",
    "email": "pquenby@ravensmoor-tenants.example.org",
    "phone": "07700 900417",
    "region": "north_west",
    "size_band": "micro",
}
NARRATIVE = "Our quarterly grant of 12,480 pounds was withheld after we spoke at the Zanzibar Hall"
MESSAGE = "Trustee Ollerenshaw-Pike was told our funding depends on silence"
REPLY = "The mediator suggests a joint meeting at Kittiwake Lane"

SEEDED_STRINGS = (
    IDENTITY["organisation"],
    IDENTITY["contact_name"],
    IDENTITY["email"],
    IDENTITY["phone"],
    NARRATIVE,
    MESSAGE,
    REPLY,
    # Distinctive fragments, in case a whole string is split or re-encoded.
    "Ravensmoor",
    "Quenby",
    "Zanzibar Hall",
    "Ollerenshaw",
    "Kittiwake",
)


def file_seeded(
    openness: str = "confidential", *, body: int | None = None, organisation: str | None = None
) -> Filed:
    """File a complaint with the seeded narrative (and identity, unless anonymous), in
    the app context's session, uncommitted; returns what `file_complaint` returns."""
    identity = dict(IDENTITY, organisation=organisation or IDENTITY["organisation"])
    from mediation.extensions import database
    from mediation.services import complaints

    return complaints.file_complaint(
        database(),
        openness=openness,
        narrative=NARRATIVE,
        identity=None if openness == "anonymous" else identity,
        respondent_body_id=body,
    )
