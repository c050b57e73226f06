"""Known secret strings that tests seed, and which must never appear in a dump or a log."""

from __future__ import annotations

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
