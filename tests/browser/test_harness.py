"""The browser checks themselves: each one fails on a page built to break it, so a green
browser suite means the app's pages passed them, not that nothing was checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import Auditor, Journey, Journeys
from tests.browser.keyboard import tab_through

ORIGIN = "http://127.0.0.1:9"  # nothing listens there: every request is answered by a route
CSP = "default-src 'self'; script-src 'self'; style-src 'self'"
GOOD = (
    "<!DOCTYPE html><html lang='en'><head><title>{title}</title>"
    "<link rel='stylesheet' href='/site.css'></head><body>"
    "<a class='skip-link' href='#main'>Skip to main content</a>"
    "<main id='main'><h1>A page</h1>{body}</main></body></html>"
)
CSS = (
    "a:focus, button:focus {outline: 3px solid #fd0}"
    " .no-focus:focus {outline: none}"
    " .skip-link {display: block}"
)


@pytest.fixture
def fake_site(chromium: Any, axe_source: str, tmp_path: Path) -> Iterator[Journeys]:
    made = Journeys(chromium, ORIGIN, tmp_path, Auditor(chromium, axe_source))
    yield made
    made.close()


def serve(journey: Journey, pages: dict[str, str]) -> None:
    def answer(route: Any) -> None:
        url = route.request.url
        if not url.startswith(ORIGIN):
            route.abort()
            return
        path = url.removeprefix(ORIGIN)
        if path == "/site.css":
            route.fulfill(body=CSS, content_type="text/css")
        elif path in pages:
            route.fulfill(
                body=pages[path],
                content_type="text/html",
                headers={"Content-Security-Policy": CSP},
            )
        else:
            route.fulfill(status=404, body="")

    journey.context.route("**/*", answer)


def failure_of(journey: Journey, path: str) -> str:
    journey.page.goto(path, wait_until="load")
    with pytest.raises(AssertionError) as caught:
        journey.check("broken page")
    return str(caught.value)


@pytest.mark.parametrize("javascript", [True, False])
def test_a_critical_axe_violation_fails_the_step(fake_site: Journeys, javascript: bool) -> None:
    journey = fake_site("tester", javascript=javascript)
    serve(journey, {"/": GOOD.format(title="Image", body="<img src='/site.css'>")})
    assert "image-alt (critical)" in failure_of(journey, "/")


def test_a_page_that_passes_every_check_passes(fake_site: Journeys) -> None:
    journey = fake_site("tester")
    serve(journey, {"/": GOOD.format(title="Fine", body="<p>Nothing wrong here.</p>")})
    journey.page.goto("/", wait_until="load")
    journey.check("fine page")


def test_an_inline_style_refused_by_the_csp_fails_the_step(fake_site: Journeys) -> None:
    journey = fake_site("tester")
    serve(journey, {"/": GOOD.format(title="Inline", body="<style>p {color: red}</style>")})
    assert "Content Security Policy" in failure_of(journey, "/")


def test_a_request_to_another_host_fails_the_step(fake_site: Journeys) -> None:
    journey = fake_site("tester")
    body = "<img alt='logo' src='http://cdn.example.org/logo.png'>"
    serve(journey, {"/": GOOD.format(title="Foreign", body=body)})
    assert "request to another host: http://cdn.example.org/logo.png" in failure_of(journey, "/")


def test_two_h1_elements_or_an_error_without_error_in_the_title_fail(
    fake_site: Journeys,
) -> None:
    journey = fake_site("tester")
    summary = "<div class='error-summary' role='alert'><h2>There is a problem</h2></div>"
    serve(
        journey,
        {
            "/two": GOOD.format(title="Two", body="<h1>Another</h1>"),
            "/error": GOOD.format(title="Form", body=summary),
        },
    )
    assert "2 h1 elements" in failure_of(journey, "/two")
    assert "the title is 'Form'" in failure_of(journey, "/error")


def test_a_page_nobody_checked_is_reported(fake_site: Journeys) -> None:
    journey = fake_site("tester")
    serve(journey, {"/": GOOD.format(title="Fine", body="<p>Fine.</p>")})
    journey.page.goto("/", wait_until="load")
    assert journey.finish() == [f"page visited but never checked: {ORIGIN}/"]
    fake_site.opened.remove(journey)


def test_focus_that_cannot_be_seen_is_found(fake_site: Journeys) -> None:
    journey = fake_site("tester")
    body = "<p><a href='/a'>Shows focus</a> <a class='no-focus' href='/b'>Hides focus</a></p>"
    serve(journey, {"/": GOOD.format(title="Focus", body=body)})
    journey.page.goto("/", wait_until="load")
    described, stops = tab_through(journey.page)
    assert [stop.index for stop in stops] == [0, 1, 2]
    assert "skip-link" in described[0]
    assert stops[1].changed and not stops[2].changed
