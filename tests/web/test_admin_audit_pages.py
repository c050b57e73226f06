"""The admin's audit log pages: a page number past the last shows the last page."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from mediation.extensions import db
from mediation.services import audit
from mediation.services.audit import Actor
from mediation.web.admin.routes import AUDIT_PAGE_SIZE
from tests.conftest import AuthActions, StaffFactory


def _shown(text: str) -> tuple[int, int]:
    found = re.search(r"page (\d+) of (\d+)", text)
    assert found, "no page caption"
    return int(found.group(1)), int(found.group(2))


def test_a_page_past_the_last_shows_the_last_and_no_number_is_an_error(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    auth.sign_in(make_staff("admin"))
    with app.app_context():
        for number in range(AUDIT_PAGE_SIZE + 5):  # two pages and a bit, with the sign-in's
            audit.record(db.session, Actor.system("test"), "test.entry", details={"n": number})
        db.session.commit()
    first = client.get("/admin/audit")
    assert first.status_code == 200 and _shown(first.text) == (1, 2)
    last = client.get("/admin/audit/page/2")
    assert _shown(last.text) == (2, 2)
    past = client.get("/admin/audit/page/7")
    assert past.status_code == 200 and _shown(past.text) == (2, 2)
    assert past.text.count("<tr") == last.text.count("<tr") < first.text.count("<tr")
    # Numbers the address cannot hold are not a page: not found, never a server error.
    for asked in ("0", "-1", "99999999999999999999999"):
        assert client.get(f"/admin/audit/page/{asked}").status_code == 404
