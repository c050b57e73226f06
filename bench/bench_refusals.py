"""Benchmark: what a refused hostile request costs the server, against reading its body.

What is measured: requests a stranger can send, each refused, through the Flask test client
(in process, no network) with production settings on SQLite: a complaint whose identity
email is 19 MB, one with 200,000 unknown fields, one whose document name is 19 MB, an API
sign-in with a 19 MB passphrase, and a complaint form page whose email is 450 KB (saved as
typed, as every page is). The baseline for each is `json.loads` (or, for the form, a
`urlencoded` parse) of the same body: the least any server must spend to read it.

Prints `ms refused_<name> <mean milliseconds>` (the issue's target is under 100) and
`ratio refused_<name> <mean / baseline>`.

    .venv/bin/python bench/bench_refusals.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.casework_seed import create_staff, migrated_app
from mediation.extensions import db

HUGE = 19 * 1024 * 1024
COMPLAINT: dict[str, Any] = {
    "openness": "confidential",
    "respondent_body": {"name": "Marsh County Council", "type": "local_authority"},
    "breaches": [{"category": "funding_change"}],
    "what_happened": "The council ended our grant without notice.",
    "outcome_sought": "Three months' notice.",
    "identity": {
        "organisation": "Benchmark Group",
        "contact_name": "Bench Contact",
        "email": "bench@example.org",
        "region": "north_west",
        "size_band": "micro",
    },
}


def mean_seconds(operation: Callable[[], object], runs: int = 5) -> float:
    operation()  # warm up templates and caches
    started = time.perf_counter()
    for _ in range(runs):
        operation()
    return (time.perf_counter() - started) / runs


def report(name: str, seconds: float, baseline: float) -> None:
    print(f"ms refused_{name} {seconds * 1000:.1f}", flush=True)
    print(f"ratio refused_{name} {seconds / baseline:.2f}", flush=True)


def api_bodies() -> dict[str, tuple[str, bytes]]:
    email = json.loads(json.dumps(COMPLAINT))
    email["identity"]["email"] = "a" * HUGE + "@example.org"
    unknown = {**COMPLAINT, **{f"field{i:06d}": 1 for i in range(200_000)}}
    named = {
        **COMPLAINT,
        "what_happened": "",
        "documents": [{"name": "a" * HUGE + ".pdf", "content_base64": "bWludXRlcw=="}],
    }
    sign_in = {"reference": "CM-2345-6789", "passphrase": "a " * (HUGE // 2)}
    return {
        "huge_email": ("/api/v1/complaints", json.dumps(email).encode()),
        "unknown_fields": ("/api/v1/complaints", json.dumps(unknown).encode()),
        "huge_file_name": ("/api/v1/complaints", json.dumps(named).encode()),
        "huge_passphrase": ("/api/v1/complainant/sessions", json.dumps(sign_in).encode()),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = migrated_app(
            f"sqlite:///{Path(folder) / 'refusals.sqlite3'}",
            Path(folder) / "instance",
            RATELIMIT_ENABLED=False,
            SESSION_COOKIE_SECURE=False,
            WTF_CSRF_ENABLED=False,
        )
        with app.app_context():
            create_staff(db.session, "case_officer", "officer@bench.example.org")
            db.session.commit()
        client = app.test_client()
        for name, (path, body) in api_bodies().items():

            def send(path: str = path, body: bytes = body, name: str = name) -> None:
                answer = client.post(path, data=body, content_type="application/json")
                assert answer.status_code in {400, 413, 422}, (name, answer.status_code)

            report(name, mean_seconds(send), mean_seconds(lambda body=body: json.loads(body)))

        pages = [
            ("openness", {"openness": "confidential"}),
            ("body", {"body_id": "not_listed", "body_name": "Marsh", "body_type": "other"}),
        ]
        for step, data in pages:
            client.post(f"/my-complaint/new/{step}", data=data)
        about = {
            "organisation": "Benchmark Group",
            "contact_name": "Bench Contact",
            "email": "a" * 450_000 + "@example.org",
            "region": "north_west",
            "size_band": "micro",
        }
        form = urlencode(about)

        def post_form() -> None:
            answer = client.post(
                "/my-complaint/new/about",
                data=form,
                content_type="application/x-www-form-urlencoded",
            )
            assert answer.status_code == 200 and "Error: " in answer.text

        report("form_long_email", mean_seconds(post_form), mean_seconds(lambda: parse_qsl(form)))


if __name__ == "__main__":
    main()
