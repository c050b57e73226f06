"""Browser journeys: every page visited is screenshotted, checked by axe-core and watched.

A Journey is one person's browser (a Playwright context). Each step waits for the page,
then fails the test on: a server error on any request, a request to another host, a
console error (a Content-Security-Policy refusal shows up there), a script error, not
exactly one h1, an error summary without "Error: " in the title, or any axe-core
violation of serious or critical impact. A screenshot and the axe results of every step
are kept in test-artifacts/browser/<test>/.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Response

from mediation import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTEFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
FAILING_IMPACTS = {"serious", "critical"}
STEP_TIMEOUT_MS = 15_000


def slug(text: str, length: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length] or "step"


@dataclass
class AxeReport:
    """The violations axe-core found on one page."""

    url: str
    violations: list[dict[str, Any]]

    def failing(self) -> list[str]:
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in self.violations
            if v.get("impact") in FAILING_IMPACTS
        ]


class Auditor:
    """Runs axe-core in a page, including pages whose context has JavaScript switched off."""

    def __init__(self, browser: Browser, axe_source: str) -> None:
        self.browser = browser
        self.axe_source = axe_source
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._document = ""

    def audit(self, page: Page, javascript: bool) -> AxeReport:
        if javascript:
            return AxeReport(page.url, self._run(page))
        # axe needs timers, which do not run with JavaScript off: audit the same document
        # (its HTML as the browser holds it, with the live stylesheets) in a second page.
        if self._page is None:
            self._context = self.browser.new_context()
            self._page = self._context.new_page()

            def serve(route: Any) -> None:
                route.fulfill(body=self._document, content_type="text/html; charset=utf-8")

            self._page.route(lambda candidate: candidate == self._serving, serve)
        # A fresh address each time, so that the same page twice is still a new document.
        self._audits += 1
        address = page.url.split("#")[0]
        self._serving = f"{address}{'&' if '?' in address else '?'}proof-audit={self._audits}"
        self._document = page.content()
        self._page.goto(self._serving, wait_until="load")
        return AxeReport(page.url, self._run(self._page))

    _serving = ""
    _audits = 0

    def _run(self, page: Page) -> list[dict[str, Any]]:
        # Evaluated through the DevTools protocol, so the page's CSP stays fully in force
        # for the page itself: no bypass_csp and no inline script tag are needed.
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        result: list[dict[str, Any]] = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return result

    def close(self) -> None:
        if self._context is not None:
            self._context.close()


@dataclass
class StepRecord:
    number: int
    actor: str
    name: str
    url: str
    axe_violations: int


@dataclass
class Journey:
    """One person's browser on the served app."""

    actor: str
    page: Page
    context: BrowserContext
    base_url: str
    folder: Path
    counter: Iterator[int]
    auditor: Auditor
    javascript: bool
    steps: list[StepRecord]
    problems: list[str] = field(default_factory=list)
    navigated: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        origin = urlsplit(self.base_url)
        self.page.set_default_timeout(STEP_TIMEOUT_MS)

        def on_request(request: Any) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != origin.netloc:
                self.problems.append(f"request to another host: {request.url}")

        def on_response(response: Response) -> None:
            if response.status >= 500:
                self.problems.append(f"server error {response.status} on {response.url}")
            elif response.status >= 400 and not response.request.is_navigation_request():
                self.problems.append(f"missing resource {response.status}: {response.url}")

        def on_console(message: Any) -> None:
            # A refused resource is already caught from its response; everything else
            # logged as an error (CSP refusals above all) is a failure.
            if message.type == "error" and "Failed to load resource" not in message.text:
                self.problems.append(f"console error on {self.page.url}: {message.text}")

        def on_frame(frame: Any) -> None:
            if frame == self.page.main_frame and frame.url.startswith("http"):
                self.navigated.add(frame.url.split("#")[0])  # a jump within a page is no new page

        self.page.on("request", on_request)
        self.page.on("response", on_response)
        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("framenavigated", on_frame)

    # -- moving around -------------------------------------------------------------------

    def open(self, path: str, step: str, *, status: int = 200) -> Response:
        response = self.page.goto(path, wait_until="load")
        assert response is not None
        self.check(step, response, status=status)
        return response

    def click(
        self, name: str, step: str, *, role: str = "button", status: int = 200, exact: bool = True
    ) -> Response:
        """Click a button or link by its accessible name, and check the page it leads to."""
        target = self.page.get_by_role(role, name=name, exact=exact)  # type: ignore[arg-type]
        return self.follow(target.click, step, status=status)

    def follow(self, action: Callable[[], Any], step: str, *, status: int = 200) -> Response:
        with self.page.expect_navigation(wait_until="load") as navigation:
            action()
        response = navigation.value
        assert response is not None
        self.check(step, response, status=status)
        return response

    def fill(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=True).fill(value)

    # -- the checks ------------------------------------------------------------------------

    def check(self, step: str, response: Response | None = None, *, status: int = 200) -> None:
        """Every check on the page as it is now; call after each page the person sees."""
        page = self.page
        page.wait_for_load_state("load")
        number = next(self.counter)
        stem = f"{number:02d}-{slug(self.actor)}-{slug(step)}"
        page.screenshot(path=str(self.folder / f"{stem}.png"), full_page=True)
        if response is not None:
            assert response.status == status, (
                f"{step}: {response.url} answered {response.status}, expected {status}"
            )
        report = self.auditor.audit(page, self.javascript)
        (self.folder / f"{stem}.axe.json").write_text(
            json.dumps({"url": report.url, "violations": report.violations}, indent=1)
        )
        self.steps.append(StepRecord(number, self.actor, step, page.url, len(report.violations)))
        self.checked.add(page.url.split("#")[0])
        headings = page.locator("h1").count()
        title = page.title()
        has_errors = page.locator(".error-summary").count() > 0
        failures = list(self.problems)
        self.problems.clear()
        failures += [f"axe: {line}" for line in report.failing()]
        if headings != 1:
            failures.append(f"{headings} h1 elements (one expected)")
        if not title.strip():
            failures.append("empty <title>")
        if has_errors and not title.startswith("Error: "):
            failures.append(f"an error summary is shown but the title is {title!r}")
        assert not failures, f"step {stem} ({page.url}):\n  " + "\n  ".join(failures)

    def finish(self) -> list[str]:
        """What went wrong since the last step, and any page nobody checked."""
        unchecked = sorted(self.navigated - self.checked)
        problems = list(self.problems)
        problems += [f"page visited but never checked: {url}" for url in unchecked]
        self.context.close()
        return problems


@dataclass
class Journeys:
    """Makes one Journey per person in a test; all share the test's artefact folder."""

    browser: Browser
    base_url: str
    folder: Path
    auditor: Auditor
    opened: list[Journey] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self, actor: str, *, javascript: bool = True) -> Journey:
        context = self.browser.new_context(
            base_url=self.base_url,
            java_script_enabled=javascript,
            locale="en-GB",
            viewport={"width": 1100, "height": 800},
        )
        journey = Journey(
            actor=actor,
            page=context.new_page(),
            context=context,
            base_url=self.base_url,
            folder=self.folder,
            counter=self.counter,
            auditor=self.auditor,
            javascript=javascript,
            steps=self.steps,
        )
        self.opened.append(journey)
        return journey

    def close(self) -> list[str]:
        problems: list[str] = []
        for journey in self.opened:
            problems += [f"{journey.actor}: {p}" for p in journey.finish()]
        self.auditor.close()
        (self.folder / "steps.json").write_text(
            json.dumps([step.__dict__ for step in self.steps], indent=1)
        )
        return problems
