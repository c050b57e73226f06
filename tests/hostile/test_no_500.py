"""What a stranger can send that made a 500, each now a clear refusal: a broken chunked body
(under gunicorn, where it happens), a download name built from what was asked, a control
character in a query string, and a session whose user id int() refuses."""

from __future__ import annotations

import re
import socket
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import parse_options_header

from mediation.web.downloads import MAX_NAME, attachment
from mediation.web.query_parameters import MAX_QUERY_VALUE
from tests.conftest import AuthActions, StaffFactory
from tests.statistics.test_statistics_web import LAST_YEAR, seed_and_publish


def raw_request(port: int, head: str, body: bytes) -> tuple[int, str]:
    """Send bytes as they are (no client library would send a broken body), and read the
    status line and the headers of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(head.encode("latin-1") + body)
        connection.shutdown(socket.SHUT_WR)  # nothing more is coming
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, headers = answer.decode("latin-1").partition("\r\n")
    return int(status_line.split()[1]), headers


BROKEN_CHUNKS = {
    "a chunk size that is not hexadecimal": b"zz\r\nabc\r\n0\r\n\r\n",
    "a chunk without its terminator": b"3\r\nabcdef0\r\n\r\n",
    "a chunk size past any limit": b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
}
BODY_ENDPOINTS = [
    ("/api/v1/complaints", "application/json", "application/problem+json"),
    ("/api/v1/complainant/sessions", "application/json", "application/problem+json"),
    ("/sign-in", "application/x-www-form-urlencoded", "text/html"),
    ("/my-complaint/sign-in", "application/x-www-form-urlencoded", "text/html"),
    ("/my-complaint/new/openness", "application/x-www-form-urlencoded", "text/html"),
    ("/my-complaint/new/documents", "multipart/form-data; boundary=x", "text/html"),
]


def test_a_broken_chunked_body_is_a_400_on_every_endpoint_that_reads_one(
    gunicorn_port: int,
) -> None:
    for path, content_type, answer_type in BODY_ENDPOINTS:
        for what, body in BROKEN_CHUNKS.items():
            head = (
                f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            status, headers = raw_request(gunicorn_port, head, body)
            assert status == 400, f"{path} with {what}: {status}"
            assert answer_type in headers, f"{path} with {what}: {headers}"
    # And the workers still answer.
    status, _ = raw_request(
        gunicorn_port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", b""
    )
    assert status == 200


def test_an_unreadable_body_says_what_is_wrong(client: FlaskClient) -> None:
    """The same refusal without gunicorn: a body whose stream fails as gunicorn's does."""

    class Broken:
        def read(self, size: int = -1) -> bytes:
            raise RuntimeError("invalid chunk size")  # gunicorn's ParseException is no OSError

        readline = read

    for path in ("/api/v1/complaints", "/sign-in"):
        response = client.post(
            path,
            content_type="application/json"
            if path.startswith("/api")
            else "application/x-www-form-urlencoded",
            environ_overrides={"wsgi.input": Broken(), "wsgi.input_terminated": True},
        )
        assert response.status_code == 400
        assert "could not be read" in response.text


HOSTILE_NAMES = [
    "report\x00.pdf",
    "a\r\nSet-Cookie: stolen=1.pdf",
    'x"; filename="evil.exe',
    "x; filename*=UTF-8''evil.exe",
    "Minutes \u2013 3 March.docx",
    "годовой отчёт.pdf",
    "\ud800lone surrogate.txt",
    "\u202egpj.exe",
    "",
    "   ",
    "n" * 10_000,
    "%0d%0a.txt",
    "\\..\\..\\windows.ini",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_download_header_is_one_safe_line_whatever_the_name(name: str) -> None:
    header = attachment(name)
    header.encode("latin-1")  # a header must be Latin-1, or the server fails the response
    assert header.isprintable() and "\r" not in header and "\n" not in header
    # Exactly the two parameters it writes: nothing in the name can add another, or end one.
    shape = re.fullmatch(
        r"attachment; filename=\"([A-Za-z0-9._ -]+)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)",
        header,
    )
    assert shape, header
    sent = unquote(shape.group(2), errors="strict")
    assert sent and sent.isprintable() and len(sent) <= MAX_NAME
    assert "\x00" not in sent and "\ud800" not in sent
    # A client reads the name back from the header as it was sent.
    assert parse_options_header(header)[1]["filename"] == sent


def test_an_ordinary_name_is_sent_as_it_is() -> None:
    header = attachment("Minutes \u2013 3 March.docx")
    assert header.startswith('attachment; filename="Minutes  3 March.docx"')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == "Minutes \u2013 3 March.docx"


def test_the_analyst_export_names_only_a_published_release(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    seed_and_publish(app, make_staff)
    auth.sign_in(make_staff("analyst"))
    chosen = client.get(f"/analyst/export.csv?release={LAST_YEAR}-v1")
    assert chosen.status_code == 200 and chosen.mimetype == "text/csv"
    assert chosen.headers["Content-Disposition"] == attachment(
        f"compact-statistics-{LAST_YEAR}-v1.csv"
    )
    current = client.get("/analyst/export.csv")
    assert current.headers["Content-Disposition"] == attachment("compact-statistics-current.csv")
    # What was never published is a 404, never written back into a header.
    for wanted in ['x"; filename=evil.exe', "é", "2025-v9", "x" * 500, "%0d%0a"]:
        response = client.get("/analyst/export.csv", query_string={"release": wanted})
        assert response.status_code == 404, wanted
        assert "evil" not in response.headers.get("Content-Disposition", "")
    # A control character never reaches the view: the export goes on without it.
    for wanted in ["\x00", "a\nb", "a\rSet-Cookie: x=1"]:
        response = client.get("/analyst/export.csv", query_string={"release": wanted})
        assert response.status_code == 200, repr(wanted)
        assert response.headers["Content-Disposition"] == current.headers["Content-Disposition"]
        assert "Set-Cookie: x" not in str(response.headers)


@pytest.mark.parametrize(
    "query",
    [
        {"state": "\x00"},
        {"category": "a\x00b"},
        {"region": "\x1b[31m"},
        {"body_type": "x" * (MAX_QUERY_VALUE + 1)},
        {"view": "\x7f"},
        {"page": "\x00"},
        {"\x00": "1"},
    ],
)
def test_a_control_character_or_a_huge_value_in_a_query_is_dropped_and_said(
    client: FlaskClient, auth: AuthActions, make_staff: StaffFactory, query: dict[str, str]
) -> None:
    auth.sign_in(make_staff("case_officer"))
    response = client.get("/casework/", query_string=query)
    # The queue, unfiltered, saying that part of the address was ignored.
    assert response.status_code == 200 and "Case queue" in response.text
    assert "Part of the web address could not be used" in response.text
    # The JSON API refuses it with a problem document that says what is wrong.
    api = client.get("/api/v1/respondent/cases", query_string=query)
    assert api.status_code == 400 and api.mimetype == "application/problem+json"
    assert "control character" in api.json["detail"]


def test_the_check_of_query_parameters_is_what_keeps_a_nul_from_the_database(
    client: FlaskClient,
    auth: AuthActions,
    make_staff: StaffFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without it, the NUL would reach the queue's statement (a 500 on PostgreSQL)."""
    from mediation.services import case_queue

    seen: list[object] = []
    real = case_queue.build_queue

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(args[1])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    auth.sign_in(make_staff("case_officer"))
    monkeypatch.setattr(case_queue, "build_queue", spy)
    assert client.get("/casework/?state=%00&region=london").status_code == 200
    assert seen and "\x00" not in repr(seen[0]) and "london" in repr(seen[0])


def test_ordinary_queue_filters_still_work(
    client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    auth.sign_in(make_staff("case_officer"))
    response = client.get("/casework/?state=triage&region=london&page=2&category=é")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "user_id",
    [
        "\u00b2:1",
        "1:\u00b2",
        "\u0661:1",
        "99999999999999999999:1",
        "1:99999999999999999999",
        ":",
        "",
    ],
)
def test_a_session_whose_user_id_is_no_number_is_an_anonymous_visitor(
    app: Flask, client: FlaskClient, make_staff: StaffFactory, user_id: str
) -> None:
    make_staff("case_officer")
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    assert client.get("/").status_code == 200
    # A staff page sends them to sign in, and the error page itself works too.
    assert client.get("/casework/").status_code == 302
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.text
