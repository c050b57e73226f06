"""The admin's audit log pages: a page number past the last shows the last page."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import AuthActions, StaffFactory


def _shown(text: str) -> tuple[int, int]:
    found = re.search(r"page (\d+) of (\d+)", text)
    assert found, "no page caption"
    return int(found.group(1)), int(found.group(2))


def test_a_page_past_the_last_shows_the_last_and_no_number_is_an_error(
    client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    auth.sign_in(make_staff("admin"))
    first = client.get("/admin/audit")
    assert first.status_code == 200 and _shown(first.text) == (1, 1)
    past = client.get("/admin/audit/page/7")
    assert past.status_code == 200
    assert _shown(past.text) == (1, 1)
    assert past.text.count("<tr") == first.text.count("<tr") > 1  # the same entries
    # Numbers the address cannot hold are not a page: not found, never a server error.
    for asked in ("0", "-1", "99999999999999999999999"):
        assert client.get(f"/admin/audit/page/{asked}").status_code == 404
