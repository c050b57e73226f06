"""Load test: a scripted mix of traffic against the production set-up on PostgreSQL: gunicorn
with several workers on a unix socket, behind nginx with deploy/nginx.conf (TLS, buffering).

    make load            # 30 seconds, 9 staff + 3 visitors + an API client, 4 gunicorn workers
    python bench/load.py --seconds 60 --visitors 6 --api-rate 1 --workers 4 --cases 500

First every member of staff signs in (password and authenticator code, production-strength
keys), two at a time, reported as `signin` lines. Then, for --seconds, the steady mix: staff
of every role browse every page of their menu and the identity pages, visitors read the
public pages and the complaint form, and (when the JSON API exists) a client files
complaints through it at --api-rate a second. Each client connects from an address of its
own in 127.0.0.0/8, which nginx passes on and the app (TRUSTED_PROXIES=1) throttles by.
Traffic goes to nginx on 127.0.0.1 only and stops after
--seconds (and at most --max-requests). Prints requests per second and latency percentiles
per kind of request and overall (`load` lines), and exits 1 on any error (any unexpected
status, timeout or dropped connection). Not part of `make test`.

The database is LOAD_DATABASE_URL (default: the local PostgreSQL's `mediation_load`
database, created when missing and emptied on every run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_seed import Account, Seeded, prepare_database, seed
from deploy.nginx import Proxy, client_context
from mediation import PROJECT_ROOT

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/mediation_load"
ROLES = {"case_officer": 3, "mediator": 3, "respondent": 1, "analyst": 1, "admin": 1}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
NAV_LINK = re.compile(r'class="service-nav__link" href="([^"]+)"')
REFERENCE = re.compile(r"CM-[0-9A-Z]{4}-[0-9A-Z]{4}")


class Failure(Exception):
    """A request that did not get the answer the journey expects."""


@dataclass
class Recorder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0

    def add(self, name: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.count += 1
            self.timings[name].append(seconds)
            if error:
                self.errors[name].append(error)


class Client:
    """One browser's worth of HTTP: keep-alive, the session cookie and CSRF tokens."""

    def __init__(self, proxy: Proxied, recorder: Recorder, address: str) -> None:
        self.proxy = proxy
        self.recorder = recorder
        self.address = address  # the loopback address this client connects from
        self.cookie = ""
        self.connection: http.client.HTTPSConnection | None = None
        self.connected_from = ""

    def request(
        self,
        name: str,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        payload: Any = None,
        expect: int = 200,
        address: str | None = None,
    ) -> tuple[dict[str, str], str]:
        headers = {}
        source = address or self.address
        if self.cookie:
            headers["Cookie"] = self.cookie
        body: str | None = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            body = json.dumps(payload)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        error = None
        try:
            if self.connection is not None and self.connected_from != source:
                self.close()
            reused = self.connection is not None
            try:
                response = self.exchange(method, path, body, headers, source)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # nginx closes a keep-alive connection idle past its keepalive_timeout (a
                # member of staff waits while the others sign in): a browser then sends
                # the request again on a new connection, and so does this client.
                self.close()
                response = self.exchange(method, path, body, headers, source)
            text = response.read().decode("utf-8", "replace")
            status = response.status
            answer = {k.lower(): v for k, v in response.getheaders()}
            for key, value in response.getheaders():
                if key.lower() == "set-cookie" and value.startswith("cm_session="):
                    self.cookie = value.split(";", 1)[0]
            if status != expect:
                error = f"{method} {path}: {status}, expected {expect}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{method} {path}: {type(exc).__name__}: {exc}"
            self.close()
            answer, text = {}, ""
        self.recorder.add(name, time.perf_counter() - started, error)
        if error:
            raise Failure(error)
        return answer, text

    def exchange(
        self, method: str, path: str, body: str | None, headers: dict[str, str], source: str
    ) -> http.client.HTTPResponse:
        if self.connection is None:
            self.connection = self.proxy.connection(source)
            self.connected_from = source
        self.connection.request(method, path, body=body, headers=headers)
        return self.connection.getresponse()

    def csrf(self, name: str, path: str) -> str:
        _, page = self.request(name, "GET", path)
        match = CSRF.search(page)
        if not match:
            raise Failure(f"no CSRF token on {path}")
        return match.group(1) or match.group(2)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def current_code(secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


def sign_in(client: Client, account: Account) -> list[str]:
    """Password, then authenticator code (production-strength Argon2id both for the login
    hash and for unlocking the staff key); returns the links of the person's menu."""
    token = client.csrf("GET /sign-in", "/sign-in")
    client.request(
        "POST /sign-in",
        "POST",
        "/sign-in",
        form={"csrf_token": token, "email": account.email, "password": account.password},
        expect=302,
    )
    token = client.csrf("GET /sign-in/code", "/sign-in/code")
    client.request(
        "POST /sign-in/code",
        "POST",
        "/sign-in/code",
        form={"csrf_token": token, "code": current_code(account.totp_secret)},
        expect=302,
    )
    _, home = client.request(f"GET home ({account.role})", "GET", home_of(account))
    pages = list(dict.fromkeys(NAV_LINK.findall(home)))
    if not pages:
        raise Failure(f"{account.email}: no menu after signing in")
    return pages


def staff_user(
    account: Account, seeded: Seeded, pages: list[str]
) -> Callable[[Client, random.Random], None]:
    """Keeps browsing the menu and, for custodians and mediators, the identity pages
    (viewing an identity with a reason writes the audit log and the disclosure log)."""
    identity_cases = account.identity_cases or (
        seeded.references if account.role == "case_officer" else []
    )

    def step(client: Client, rng: random.Random) -> None:
        if identity_cases and rng.random() < 0.15:
            reference = rng.choice(identity_cases)
            path = f"/identity/cases/{reference}"
            token = client.csrf("GET /identity/cases/<ref>", path)
            client.request(
                "POST /identity/cases/<ref> (reason)",
                "POST",
                path,
                form={"csrf_token": token, "reason": "Checking contact details for a session"},
            )
            return
        path = rng.choice(pages)
        client.request(f"GET {REFERENCE.sub('<ref>', path)}", "GET", path)

    return step


def home_of(account: Account) -> str:
    return {
        "case_officer": "/casework/",
        "mediator": "/mediator/",
        "respondent": "/respondent/",
        "analyst": "/analyst/",
        "admin": "/admin/users",
    }[account.role]


def visitor(public_pages: list[str]) -> Callable[[Client, random.Random], None]:
    def step(client: Client, rng: random.Random) -> None:
        path = rng.choice(public_pages)
        client.request(f"GET {path}", "GET", path)

    return step


def api_client(body_id: int, rate: float) -> Callable[[Client, random.Random], None]:
    """Files complaints through the JSON API at a steady `rate` per second at most: each
    costs a production-strength Argon2id derivation of the complainant's key."""
    counter = iter(range(1, 10**9))
    next_at = [time.monotonic()]

    def step(client: Client, rng: random.Random) -> None:
        wait = next_at[0] - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        next_at[0] = max(next_at[0], time.monotonic() - 1 / rate) + 1 / rate
        number = next(counter)
        complaint: dict[str, Any] = {
            "openness": rng.choice(["anonymous", "confidential"]),
            "respondent_body": {"id": body_id},
            "breaches": [{"category": "funding_change"}],
            "what_happened": "Our grant was ended with two weeks' notice and no reasons given.",
            "outcome_sought": "Three months' notice and a written reason.",
        }
        if complaint["openness"] == "confidential":
            complaint["identity"] = {
                "organisation": f"Load Trust {number}",
                "contact_name": "A Person",
                "email": f"trust{number}@example.org",
                "region": "london",
                "size_band": "small",
            }
        # Each complaint from its own client address, as many groups would send them.
        address = f"127.{number // 65536 % 256 + 100}.{number // 256 % 256}.{number % 256 + 1}"
        client.request(
            "POST /api/v1/complaints",
            "POST",
            "/api/v1/complaints",
            payload=complaint,
            expect=201,
            address=address,
        )

    return step


def run_user(
    step: Callable[[Client, random.Random], None],
    client: Client,
    deadline: float,
    limit: int,
    seed_value: int,
) -> None:
    rng = random.Random(seed_value)
    while time.monotonic() < deadline and client.recorder.count < limit:
        try:
            step(client, rng)
        except Failure:
            time.sleep(0.05)
    client.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Proxied:
    """nginx's TLS port and the certificate it serves, for the clients."""

    port: int
    certificate: Path

    def connection(self, source: str, timeout: float = 60) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1",
            self.port,
            timeout=timeout,
            context=client_context(self.certificate),
            source_address=(source, 0),
        )


@contextmanager
def production(database_url: str, instance: Path, workers: int) -> Iterator[Proxied]:
    """The README's set-up: gunicorn on a unix socket, nginx (deploy/nginx.conf) in front."""
    folder = Path(tempfile.mkdtemp(prefix="cm-load-"))  # short: a socket path's limit
    upstream = f"unix:{folder / 'gunicorn.sock'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "load-test-secret",
        "MEDIATION_INSTANCE_PATH": str(instance),
        "TRUSTED_PROXIES": "1",
    }
    env.pop("DEMO_MODE", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", upstream, "mediation.wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = Proxy(folder, free_port(), upstream)
    try:
        proxy.start()
        proxied = Proxied(proxy.port, proxy.certificate)
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = proxied.connection("127.0.0.1", timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
                connection.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer through nginx")
            time.sleep(0.2)
        yield proxied
    finally:
        proxy.stop()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def machine(database_url: str) -> str:
    from sqlalchemy import create_engine, text

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kib = 0
    engine = create_engine(database_url)
    with engine.connect() as connection:
        server_version = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return (
        f"{os.cpu_count()} cores ({model}), {memory_kib / 1024 / 1024:.0f} GiB, "
        f"Python {platform.python_version()}, PostgreSQL {server_version}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--visitors", type=int, default=3, help="concurrent public visitors")
    parser.add_argument("--api-rate", type=float, default=0.5, help="API complaints per second")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--cases", type=int, default=200, help="cases seeded beforehand")
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    database_url = os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE)

    with tempfile.TemporaryDirectory(prefix="mediation-load-") as folder:
        instance = Path(folder)
        started = time.monotonic()
        prepare_database(database_url, instance)
        print(f"# machine: {machine(database_url)}", flush=True)
        seeded = seed(database_url, instance, cases=args.cases, roles=ROLES)
        print(
            f"# seeded {len(seeded.references)} cases and {len(seeded.accounts)} staff "
            f"in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        with production(database_url, instance, args.workers) as proxied:
            return drive(proxied, seeded, args)


def drive(proxied: Proxied, seeded: Seeded, args: argparse.Namespace) -> int:
    public_pages = ["/", "/privacy", "/accessibility", "/sign-in", "/static/css/main.css"]
    has_api = False
    for optional in ("/my-complaint/new/openness", "/my-complaint/sign-in", "/api/v1/openapi.json"):
        connection = proxied.connection("127.0.0.1", timeout=10)
        connection.request("GET", optional)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status == 200:
            public_pages.append(optional)
            has_api = has_api or optional.startswith("/api/")

    # Phase 1: every member of staff signs in, two at a time (people do not all sign in
    # in the same second; each sign-in costs two production Argon2id derivations).
    signing_in = Recorder()
    signed_in: list[tuple[Account, Client, list[str]]] = []
    lock = threading.Lock()
    queue = list(enumerate(seeded.accounts))

    def sign_in_next() -> None:
        while True:
            with lock:
                if not queue:
                    return
                number, account = queue.pop(0)
            client = Client(proxied, signing_in, f"127.200.0.{number + 1}")
            try:
                pages = sign_in(client, account)
            except Failure:
                continue
            with lock:
                signed_in.append((account, client, pages))

    began = time.monotonic()
    run_all([threading.Thread(target=sign_in_next) for _ in range(2)])
    sign_in_seconds = time.monotonic() - began

    # Phase 2: the steady mix, for --seconds.
    browsing = Recorder()
    users: list[tuple[Callable[[Client, random.Random], None], Client]] = []
    for account, client, pages in signed_in:
        client.recorder = browsing
        users.append((staff_user(account, seeded, pages), client))
    for number in range(args.visitors):
        users.append((visitor(public_pages), Client(proxied, browsing, f"127.201.0.{number + 1}")))
    if has_api and args.api_rate > 0:
        users.append(
            (api_client(seeded.body_id, args.api_rate), Client(proxied, browsing, "127.202.0.1"))
        )
    deadline = time.monotonic() + args.seconds
    began = time.monotonic()
    run_all(
        [
            threading.Thread(target=run_user, args=(step, client, deadline, args.max_requests, i))
            for i, (step, client) in enumerate(users)
        ]
    )
    elapsed = time.monotonic() - began
    print(
        f"# {len(signed_in)} staff signed in, then {len(users)} virtual users "
        f"({len(signed_in)} staff, {args.visitors} visitors"
        f"{f', an API client at {args.api_rate}/s' if has_api and args.api_rate > 0 else ''})"
        f" for {elapsed:.1f} s; gunicorn {args.workers} workers behind nginx",
        flush=True,
    )
    failed = report("signin", signing_in, sign_in_seconds)
    failed |= report("load", browsing, elapsed)
    return 1 if failed else 0


def run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def report(prefix: str, recorder: Recorder, elapsed: float) -> bool:
    """Print one line per kind of request and a total; True if anything failed."""
    everything: list[float] = []
    errors = 0
    for name in sorted(recorder.timings):
        timings = recorder.timings[name]
        everything += timings
        failed = len(recorder.errors.get(name, []))
        errors += failed
        print(
            f"{prefix} {name.replace(' ', '_')} requests {len(timings)}"
            f" rps {len(timings) / elapsed:.1f}"
            f" p50_ms {percentile(timings, 0.5) * 1000:.1f}"
            f" p95_ms {percentile(timings, 0.95) * 1000:.1f} errors {failed}"
        )
    if not everything:
        print(f"{prefix} total requests 0")
        return True
    print(
        f"{prefix} total requests {len(everything)} rps {len(everything) / elapsed:.1f}"
        f" p50_ms {percentile(everything, 0.5) * 1000:.1f}"
        f" p95_ms {percentile(everything, 0.95) * 1000:.1f} errors {errors}"
    )
    for name, messages in recorder.errors.items():
        for message in messages[:3]:
            print(f"# error {name}: {message}")
    return errors > 0


if __name__ == "__main__":
    raise SystemExit(main())
