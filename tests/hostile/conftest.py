"""A gunicorn serving the test's database, for what only a real server shows."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.intake.conftest import body_id, officer  # noqa: F401  (fixtures used here too)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gunicorn_port(app_config: dict[str, Any]) -> Iterator[int]:
    """The port of a gunicorn (two sync workers, as in production) on the test's database.
    The app is tests/crash/wsgi.py's: the test's settings from the environment."""
    config = {k: v for k, v in app_config.items() if k not in {"SERVER_NAME", "TESTING"}}
    env = {**os.environ, "CRASH_TEST_CONFIG": json.dumps(config)}
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "2",
            "--no-control-socket",
            "-b",
            f"127.0.0.1:{port}",
            "tests.crash.wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                connection.close()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
