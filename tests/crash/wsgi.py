"""The app for the crash test's gunicorn: the test's database and settings, from the environment.

Only what differs from production is set: cheap key derivation (the test is about atomic
writes, not Argon2id's cost) and no API throttling (1,000 complaints come from 127.0.0.1).
Gunicorn preloads it, so a killed worker is replaced by a fork in milliseconds rather than
a fresh import; no database connection is left open in the parent to be shared.
"""

from __future__ import annotations

import json
import os

from mediation import create_app
from mediation.extensions import db

app = create_app(json.loads(os.environ["CRASH_TEST_CONFIG"]))
with app.app_context():
    db.engine.dispose()
