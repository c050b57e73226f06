"""Finds every form a person can reach, and fuzzes it with hypothesis.

A crawler follows the links a signed-in person (or a visitor) sees, from their home page,
and collects each <form method="post"> with its fields. For each form, hypothesis sends
data built from the form's own fields (real options, empty values, odd or huge text, junk
extra fields) and checks the answer: never a 500; a refusal shows an error summary whose
messages are plain sentences, with "Error: " in the title, and writes nothing to the
database beyond what the form is documented to keep on a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import BytesIO
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from mediation.extensions import db

# Never followed or submitted: they end the session the crawl depends on.
SKIPPED_PATHS = re.compile(r"/sign-out$|^/static/|/documents/\d+$")
TEXT_TYPES = {"text", "email", "password", "search", "tel", "url", "number", "", None}


@dataclass
class FormField:
    name: str
    kind: str  # text, textarea, select, radio, checkbox, file, button, hidden
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    page: str
    action: str
    fields: dict[str, FormField]
    multipart: bool

    def describe(self) -> str:
        return f"{self.action} (on {self.page}): {', '.join(sorted(self.fields)) or 'no fields'}"


class PageParser(HTMLParser):
    """Links and POST forms of one page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: FormField | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"] or ""))
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            action = urljoin(self.page, a.get("action") or self.page)
            multipart = (a.get("enctype") or "") == "multipart/form-data"
            self._form = Form(self.page, action, {}, multipart)
            self.forms.append(self._form)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value") or "")
        elif self._form is not None and a.get("name"):
            self._field(tag, a)

    def _field(self, tag: str, a: dict[str, str | None]) -> None:
        assert self._form is not None
        name = a["name"] or ""
        kind_of_input = (a.get("type") or "text").lower()
        fields = self._form.fields
        if tag == "textarea":
            fields[name] = FormField(name, "textarea")
        elif tag == "select":
            self._select = fields.setdefault(name, FormField(name, "select"))
        elif tag == "button" or (tag == "input" and kind_of_input == "submit"):
            button = fields.setdefault(name, FormField(name, "button"))
            button.options.append(a.get("value") or "")
        elif tag == "input" and kind_of_input in {"radio", "checkbox"}:
            choice = fields.setdefault(name, FormField(name, kind_of_input))
            choice.options.append(a.get("value") or "on")
        elif tag == "input" and kind_of_input == "file":
            fields[name] = FormField(name, "file")
        elif tag == "input" and kind_of_input == "hidden":
            fields[name] = FormField(name, "hidden", [a.get("value") or ""])
        elif tag == "input" and kind_of_input in TEXT_TYPES:
            fields[name] = FormField(name, "text")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def crawl(
    client: FlaskClient, start: list[str], limit: int = 80, visited: list[str] | None = None
) -> list[Form]:
    """Every POST form on pages reachable by links from the start pages (same app only);
    the pages read are added to `visited` when it is given."""
    seen: set[str] = set()
    queue = list(start)
    forms: dict[tuple[str, tuple[str, ...]], Form] = {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or (parts.netloc and parts.netloc != "localhost"):
            continue
        if SKIPPED_PATHS.search(parts.path):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        if visited is not None:
            visited.append(parts.path)
        parser = PageParser(f"http://localhost{path}")
        parser.feed(response.text)
        for form in parser.forms:
            action = urlsplit(form.action).path
            if SKIPPED_PATHS.search(action):
                continue
            form.action = action
            forms.setdefault((action, tuple(sorted(form.fields))), form)
        queue += [link for link in parser.links if "#" not in link or link.split("#")[0]]
        queue = [link.split("#")[0] for link in queue]
    return list(forms.values())


# Values that break naive parsing: huge and negative numbers, digits that int() refuses,
# markup, SQL, NUL and direction-override characters, format strings.
NASTY = [
    "0",
    "-1",
    "99999999999999999999",
    "\u00b2",
    "\u0661\u0662",
    "a@b",
    "nobody@example.org",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
    "\u202e\u0000",
    "CM-2345-6789",
    "%s%s%n",
    # Required text that shows nothing (zero-width space, byte-order mark, word joiner,
    # Hangul filler): no answer, however it is dressed.
    "\u200b\ufeff\u2060",
    "\u3164",
    # Past every field's limit: refused on its length alone, with no further check.
    "a" * 100_000 + "@example.org",
]

ODD_TEXT = st.one_of(
    st.just(""),
    st.just("   "),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.just("x" * 25_000),
    st.sampled_from(NASTY),
)


def field_values(form_field: FormField) -> st.SearchStrategy[Any]:
    if form_field.kind in {"select", "radio", "button"}:
        return st.one_of(st.sampled_from(form_field.options or [""]), ODD_TEXT)
    if form_field.kind == "checkbox":
        return st.lists(
            st.one_of(st.sampled_from(form_field.options or ["on"]), ODD_TEXT), max_size=4
        )
    if form_field.kind == "hidden":
        return st.one_of(st.sampled_from(form_field.options), ODD_TEXT)
    if form_field.kind == "file":
        return st.lists(
            st.tuples(st.binary(max_size=2000), st.sampled_from(["a.pdf", "b.exe", "", "c.txt"])),
            max_size=2,
        )
    return ODD_TEXT


def form_data(form: Form) -> st.SearchStrategy[MultiDict[str, Any]]:
    parts = {
        name: st.one_of(st.none(), field_values(f))  # None: the field is left out
        for name, f in form.fields.items()
        if name != "csrf_token"
    }
    junk = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=2)

    def build(values: dict[str, Any], extra: dict[str, str]) -> MultiDict[str, Any]:
        data: MultiDict[str, Any] = MultiDict()
        for name, value in values.items():
            if value is None:
                continue
            if form.fields[name].kind == "file":
                for content, filename in value:
                    data.add(name, (BytesIO(content), filename))
            elif isinstance(value, list):
                for item in value:
                    data.add(name, item)
            else:
                data.add(name, value)
        for name, value in extra.items():
            if name not in form.fields:
                data.add(name, value)
        return data

    return st.builds(build, st.fixed_dictionaries(parts), junk)


def row_counts(app: Flask) -> dict[str, int]:
    """Rows in every table, in one statement (one round trip per example on PostgreSQL)."""
    tables = list(db.metadata.sorted_tables)
    query = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    with app.app_context():
        row = db.session.execute(query).one()
        db.session.remove()
    return {table.name: int(row[index]) for index, table in enumerate(tables)}


ERROR_SUMMARY = re.compile(
    r'<div class="error-summary".*?</div>\s*</div>|<div class="error-summary".*?</ul>', re.S
)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
TAGS = re.compile(r"<[^>]+>")
# Signs that a message shows the program's insides rather than a sentence for a person
# (a message may quote what was typed, so braces or "None" alone prove nothing).
INTERNALS = re.compile(r"Traceback|Exception\b|<class |object at 0x|sqlalchemy|psycopg|werkzeug")


class UnreadableStream:
    """A request body whose reading fails, as gunicorn's does on a broken chunked encoding
    (its errors are not OSError)."""

    def read(self, size: int = -1) -> bytes:
        raise RuntimeError("Invalid chunk size")

    readline = read


@dataclass
class Verdict:
    refused: bool
    problems: list[str]


def judge(status: int, text: str, changed: dict[str, int], may_change: set[str]) -> Verdict:
    problems: list[str] = []
    if status >= 500:
        return Verdict(True, [f"server error {status}"])
    summary = ERROR_SUMMARY.search(text)
    refused = status >= 400 or summary is not None
    if summary is not None:
        title = TITLE.search(text)
        if not title or not title.group(1).strip().startswith("Error: "):
            problems.append("an error summary without 'Error: ' in the title")
        items = [
            TAGS.sub("", item).strip()
            for item in re.findall(r"<li>(.*?)</li>", summary.group(0), re.S)
        ]
        if not items or not all(items):
            problems.append(f"an error summary without messages: {items}")
        for item in items:
            if INTERNALS.search(item):
                problems.append(f"an unclear message: {item!r}")
    if refused:
        written = {name: n for name, n in changed.items() if name not in may_change}
        if written:
            problems.append(f"refused, yet rows changed: {written}")
    return Verdict(refused, problems)


def fuzz_form(
    app: Flask,
    client: FlaskClient,
    form: Form,
    *,
    may_change: set[str],
    examples: int,
    after_each: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Hypothesis over one form; returns how many answers were refusals and acceptances."""
    tally = {"refused": 0, "accepted": 0}

    def check(data: MultiDict[str, Any]) -> None:
        before = row_counts(app)
        response = client.post(
            form.action,
            data=data,
            content_type="multipart/form-data" if form.multipart else None,
        )
        after = row_counts(app)
        changed = {n: after[n] - before[n] for n in after if after[n] != before[n]}
        verdict = judge(response.status_code, response.get_data(as_text=True), changed, may_change)
        assert not verdict.problems, (
            f"{form.describe()} with {dict(data.lists())!r}: {verdict.problems}"
        )
        tally["refused" if verdict.refused else "accepted"] += 1
        if after_each is not None:
            after_each()

    # Every nasty value in every field at once, then hypothesis's own mixtures.
    for value in NASTY:
        check(MultiDict([(name, value) for name in form.fields if name != "csrf_token"]))
    # A body that cannot be read (as gunicorn's broken chunked encoding): no 500, no write.
    before = row_counts(app)
    broken = client.post(
        form.action,
        content_type="multipart/form-data; boundary=x"
        if form.multipart
        else "application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input": UnreadableStream(), "wsgi.input_terminated": True},
    )
    # (A page that refuses before reading the body, a used set-up link say, may answer
    # otherwise: never with a 500.)
    assert broken.status_code < 500, f"{form.describe()} with a broken body"
    if broken.status_code == 400:
        assert "could not be read" in broken.get_data(as_text=True), form.describe()
    assert row_counts(app) == before, f"{form.describe()} wrote on a broken body"

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=form_data(form))
    def one(data: MultiDict[str, Any]) -> None:
        check(data)

    one()
    return tally
