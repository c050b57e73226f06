"""Slow clients: 210 connections sending a body (or their headers) two bytes a second, or
nothing, must not stop the production set-up answering everyone else within a second.

Gunicorn's sync workers read a request's body themselves, so without a buffering proxy a
handful of such connections hold every worker (the second test shows it, and that this
way of measuring sees it). nginx (deploy/nginx.conf) holds them instead: it passes a
request on only once the whole of it has arrived, keeps a slow body as long as it keeps
coming, and lets a header go that has not arrived whole within 10 s."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from tests import served

SLOW_BODIES = 150
SLOW_HEADERS = 50
SILENT = 10  # send nothing after connecting
WINDOW = 12.0  # seconds of slow traffic, past the proxy's 10 s header timeout
ANSWER_WITHIN = 1.0
BODY = 1000  # bytes each slow body announces; at 2 bytes a second it would take 500 s


def slow_body_start(host: str) -> bytes:
    return (
        "POST /sign-in HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {BODY}\r\n\r\n"
    ).encode()


class Trickler:
    """Keeps every slow connection sending two bytes a second on a thread of its own."""

    def __init__(self, connections: list[tuple[Any, bytes]]) -> None:
        self.connections = connections  # (socket, what it still has to send)
        self.stop = threading.Event()
        self.began = time.monotonic()
        self.failures: dict[int, tuple[float, str]] = {}  # by number: when (s), and why
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(1.0):
            for number, (connection, left) in enumerate(self.connections):
                if not left:
                    continue
                try:
                    connection.sendall(left[:2])
                except OSError as exc:
                    self.failures[number] = (time.monotonic() - self.began, str(exc))
                    left = b""
                self.connections[number] = (connection, left[2:])


def request_timed(at: served.Served, path: str) -> tuple[int, float]:
    started = time.monotonic()
    connection = at.connection(timeout=ANSWER_WITHIN * 5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


@contextmanager
def opened(count: int, port: int, context: ssl.SSLContext | None) -> Iterator[list[Any]]:
    """`count` connections to the port (TLS when a context is given), closed on leaving."""
    with ExitStack() as stack:
        found: list[Any] = []
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            stack.callback(raw.close)
            if context is not None:
                wrapped = context.wrap_socket(raw, server_hostname="127.0.0.1")
                stack.callback(wrapped.close)
                found.append(wrapped)
            else:
                found.append(raw)
        yield found


def test_two_hundred_slow_clients_do_not_stall_the_proxied_set_up(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    with served.production(
        app_config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", workers=3
    ) as at:
        context = served.client_context(at.certificate)
        host = f"127.0.0.1:{at.port}"
        total = SLOW_BODIES + SLOW_HEADERS + SILENT
        began = time.monotonic()
        with opened(total, at.port, context) as sockets:
            bodies = sockets[:SLOW_BODIES]
            headers = sockets[SLOW_BODIES : SLOW_BODIES + SLOW_HEADERS]
            silent = sockets[SLOW_BODIES + SLOW_HEADERS :]
            for connection in bodies:
                connection.sendall(slow_body_start(host))
            header_text = f"GET /sign-in HTTP/1.1\r\nHost: {host}\r\nX-Slow: {'a' * 200}\r\n"
            trickler = Trickler(
                [(c, b"x" * BODY) for c in bodies] + [(c, header_text.encode()) for c in headers]
            )
            trickler.thread.start()
            try:
                timings: list[tuple[str, int, float]] = []
                while time.monotonic() - began < WINDOW:
                    for path in ("/healthz", "/sign-in", "/"):
                        status, seconds = request_timed(at, path)
                        timings.append((path, status, seconds))
                    time.sleep(0.1)
            finally:
                trickler.stop.set()
                trickler.thread.join(timeout=10)
            # No slow body was dropped: nginx's body timeout is the gap between two reads.
            assert not {n: f for n, f in trickler.failures.items() if n < SLOW_BODIES}
            # A slow header was, but only at client_header_timeout (10 s for the whole
            # header) and not before.
            assert all(when > 9 for when, _ in trickler.failures.values()), trickler.failures
            slowest = max(timings, key=lambda timing: timing[2])
            assert all(status == 200 for _, status, _ in timings), timings
            assert slowest[2] < ANSWER_WITHIN, f"slowest answer: {slowest}"
            assert len(timings) >= 30, "too few requests were answered during the window"
            # The silent and slow-header connections were let go by the header timeout;
            # the slow bodies, each sending every second, are all still held.
            for connection in silent + headers:
                assert closed_by_server(connection), "a connection is still open past 10 s"
            assert not any(closed_by_server(c, wait=0.0) for c in bodies)
            # A slow body that does arrive whole is then passed on and answered.
            finished = bodies[0]
            finished.sendall(b"x" * BODY)
            finished.settimeout(10)
            assert finished.recv(64).startswith(b"HTTP/1.1 400")  # no CSRF token: refused


def closed_by_server(connection: Any, wait: float = 2.0) -> bool:
    """Whether the other end has closed (or reset) the connection."""
    connection.settimeout(wait if wait > 0 else 0.001)
    try:
        data = connection.recv(1024)
    except (TimeoutError, ssl.SSLWantReadError, BlockingIOError):
        return False
    except (ConnectionError, ssl.SSLError):
        return True
    # nginx answers a timed-out header with a 408 or by closing; either is a closed one.
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_without_the_proxy_four_slow_clients_stall_gunicorn(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    """The measurement above sees the stall it guards against: gunicorn alone, with three
    sync workers, answers no one while four clients send their bodies slowly."""
    import os

    port = served.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "production-test",
        "MEDIATION_INSTANCE_PATH": str(tmp_path / "instance"),
        # deploy/gunicorn.conf.py refuses several workers on per-process counters.
        "REDIS_URL": served.REDIS_URL,
    }
    env.pop("DEMO_MODE", None)
    with served.gunicorn(env, 3, f"127.0.0.1:{port}"):
        wait_for_plain(port)
        with opened(4, port, None) as sockets:
            for connection in sockets:
                connection.sendall(slow_body_start(f"127.0.0.1:{port}") + b"xx")
            time.sleep(0.5)  # each worker has taken one and waits for the rest of its body
            probe = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
            try:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                try:
                    answered = probe.recv(64)
                except TimeoutError:
                    answered = b""
            finally:
                probe.close()
        assert answered == b"", "gunicorn answered although every worker was held"


def wait_for_plain(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")
