"""The production set-up as the README gives it, for tests: gunicorn's sync workers on a
unix socket behind nginx with deploy/nginx.conf (TLS, request and response buffering)."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.nginx import Proxy, client_context
from mediation import PROJECT_ROOT

__all__ = ["client_context"]

SECRET_KEY = "shared-production-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """Where the set-up answers: nginx's TLS port, and gunicorn's socket behind it."""

    port: int
    certificate: Path
    gunicorn_socket: Path
    redirect_port: int | None = None  # nginx's plain HTTP port, when asked for

    def connection(self, timeout: float = 20) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=client_context(self.certificate)
        )


REDIS_URL = "redis://127.0.0.1:6379/0"


def gunicorn_command(workers: int, bind: str) -> list[str]:
    """`gunicorn -c deploy/gunicorn.conf.py -w N -b BIND mediation.wsgi:app` (the README's,
    with the access log that keeps no client address), with this environment's gunicorn."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    config = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
    return [str(gunicorn), "-c", str(config), "-w", str(workers), "-b", bind, "mediation.wsgi:app"]


@contextmanager
def gunicorn(env: dict[str, str], workers: int, bind: str) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(
        gunicorn_command(workers, bind),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def production(
    database_url: str, instance: Path, *, workers: int = 3, redirect: bool = False
) -> Iterator[Served]:
    """gunicorn (`workers` sync workers) on a unix socket, nginx in front on a free port
    for the server name 127.0.0.1 (and, with `redirect`, on another for plain HTTP), both
    stopped on leaving; yields once /healthz answers 200 through nginx."""
    folder = Path(tempfile.mkdtemp(prefix="cm-served-"))  # short: a socket path's limit
    socket_path = folder / "gunicorn.sock"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "MEDIATION_INSTANCE_PATH": str(instance),
        "TRUSTED_PROXIES": "1",
        # As the README's set-up: the throttling counters, sign-in gates and the period's
        # client-address key shared by every worker in Redis.
        "REDIS_URL": REDIS_URL,
    }
    env.pop("DEMO_MODE", None)
    port = free_port()
    redirect_port = free_port() if redirect else None
    try:
        with (
            gunicorn(env, workers, f"unix:{socket_path}"),
            Proxy(
                folder, port, f"unix:{socket_path}", "127.0.0.1", redirect_port=redirect_port
            ) as proxy,
        ):
            served = Served(port, proxy.certificate, socket_path, redirect_port)
            wait_for_health(served)
            yield served
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_health(served: Served, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        connection = served.connection(timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        assert time.monotonic() < deadline, "gunicorn did not answer through nginx"
        time.sleep(0.2)
