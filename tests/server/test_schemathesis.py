"""The API document against the running server: schemathesis (a property-based API tester, from
PyPI) reads GET /api/v1/openapi.json from the server under gunicorn and runs every phase
(examples, coverage, fuzzing, stateful through the document's links) with every check, on
SQLite and on PostgreSQL. Any failure of any check fails the test: a 5xx, a status or header or
body the document does not list, a body valid by the document that the server refused, an
invalid one it took, a route that ignores its credentials.

What the tester is told beyond the document (credentials, the rules a schema cannot state) is
in schemathesis_hooks.py. `make test` runs QUICK cases per operation with a fixed seed (the
same cases each run); `make faults` runs FULL with a new seed each time.

A run that passes because nothing reached the code would prove nothing, so the test also
counts what the server stored: batches and buckets from generated bodies, and exports.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from faults.checker import FULL, rounds
from rig.gunicorn import Gunicorn
from server import accounts
from server.app import close, create_app
from server.schema import audit_log, batches, hourly
from server.settings import Settings
from tests.server.conftest import CENTERS, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = rounds(full=400, quick=50)  # generated cases per operation and phase


def _province(database_url: str, secret: str) -> tuple[dict[str, str], object]:
    app = create_app(Settings(database_url=database_url, secret_key=secret))
    with app.extensions["hangcho.engine"].begin() as conn:
        for center in CENTERS:
            accounts.add_center(conn, *center)
        tokens = {center[0]: accounts.add_gateway(conn, center[0]) for center in CENTERS}
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
    return tokens, app


def test_the_document_holds_against_the_server(server_db, tmp_path):
    secret = secrets.token_hex(16)
    tokens, app = _province(server_db, secret)
    seed = random.randrange(1 << 30) if FULL else 1
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.server.schemathesis_hooks", "PYTHONPATH": str(ROOT),
           "HANGCHO_ST_TOKENS": json.dumps(tokens), "HANGCHO_ST_DATABASE_URL": server_db,
           "HANGCHO_ST_SECRET_KEY": secret, "HANGCHO_ST_USER": "tinh"}  # fmt: skip
    try:
        with Gunicorn(server_db, tmp_path, secret, workers=2) as server:
            run = subprocess.run(
                [str(Path(sys.executable).with_name("st")), "run", f"{server.url}/api/v1/openapi.json",
                 "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "-n", str(EXAMPLES),
                 "--seed", str(seed), "--request-timeout", "30", "--no-color",
                 # the forms that change accounts (POST /users…): test_users_page.py and test_scopes.py
                 "--exclude-operation-id-regex", "^user_",
                 "--report", "junit", "--report-dir", str(tmp_path / "report")],
                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
        summary = re.search(r"(\d+) generated, (.*)", run.stdout)
        print(f"schemathesis on {server_db.split(':')[0]}, seed {seed}: {summary and summary.group(0)}")
        assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
        assert summary and int(summary.group(1)) >= 10 * EXAMPLES, run.stdout[-3_000:]
        with app.extensions["hangcho.engine"].connect() as conn:
            stored = conn.execute(select(func.count()).select_from(batches)).scalar()
            rows = conn.execute(select(func.count()).select_from(hourly)).scalar()
            exports = conn.execute(select(func.count()).where(audit_log.c.action == "exported")).scalar()
        print(f"stored {stored} batches, {rows} hourly rows; {exports} exports")
        assert stored >= 3 and rows >= 3 and exports >= 3, (stored, rows, exports)
    finally:
        close(app)
