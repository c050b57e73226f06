"""Browser fixtures: Chromium launched once per run, the app served by a real HTTP server
in a thread (CSRF on, Secure cookies, the production error pages), and a `journeys` factory
that checks every page each person sees."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.axe import ensure_axe
from tests.browser.harness import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, Auditor, Journeys, slug


def _unavailable(message: str) -> None:
    # In CI the browser suite must run: `make test` installs Chromium and axe-core first.
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: `make test` installs it with apt-get")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return ensure_axe().read_text()
    except (RuntimeError, OSError) as exc:
        _unavailable(f"axe-core is not available: {exc}")
        raise


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """As in production where it matters: CSRF on, Secure cookies, real error pages."""
    config = dict(app_config)
    config.update(
        TESTING=False,
        WTF_CSRF_ENABLED=True,
        SESSION_COOKIE_SECURE=True,
        RATELIMIT_ENABLED=False,  # every journey signs in from 127.0.0.1
    )
    config.pop("SERVER_NAME", None)  # the server's port is only known once it listens
    return config


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, served by Werkzeug's threaded HTTP server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Wait for requests still being served at the end, so that none holds a database
    # transaction open while the next test empties the tables.
    server.daemon_threads = False
    server.block_on_close = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def journeys(
    request: pytest.FixtureRequest, chromium: Any, axe_source: str, live_server: str
) -> Iterator[Journeys]:
    folder = ARTEFACTS / slug(request.node.name.removeprefix("test_"), 150)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    made = Journeys(chromium, live_server, folder, Auditor(chromium, axe_source))
    yield made
    problems = made.close()
    assert not problems, "\n".join(problems)
