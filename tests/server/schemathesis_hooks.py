"""What the API tester (schemathesis, tests/server/test_schemathesis.py) is told beyond the document.

Credentials: every request carries a gateway token and a fresh logged-in session of the admin,
minted straight into the database (so a generated POST /logout ends only its own session), and
a form the tester posts carries that session's CSRF token. A batch names one of the centers the
test registered, with that center's token: a generated center id would only ever get 403.

Three in four generated batches are numbered as a gateway numbers them (after the center's mark).

Rules no JSON Schema can state, which the document states in words and the server refuses with
400 (each refusal has a hand-made test in test_sync_api.py): a bucket's (day, hour, service) or
a counter-day's (day, counter) twice in one batch; a wait range whose low end is above its high
end; more devices online than in total. Generated bodies that break one of these are dropped
rather than sent as "valid"; so is a date range with `to` before `from` or more than 366 days
after it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import date

import schemathesis
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import create_engine, func, select

from contracts import ids
from contracts.sync import is_day
from server import web_sessions
from server.accounts import User
from server.dashboard import MAX_DAYS
from server.schema import batches, users

TOKENS: dict[str, str] = json.loads(os.environ["HANGCHO_ST_TOKENS"])  # center id → its gateway's token
CENTERS = sorted(TOKENS)
ENGINE = create_engine(os.environ["HANGCHO_ST_DATABASE_URL"])
_app = Flask("cookies")
_app.secret_key = os.environ["HANGCHO_ST_SECRET_KEY"]
SIGNER = SecureCookieSessionInterface().get_signing_serializer(_app)
with ENGINE.connect() as _conn:
    _row = _conn.execute(select(users).where(users.c.username == os.environ["HANGCHO_ST_USER"])).mappings().one()
ADMIN = User(_row["id"], _row["username"], _row["role"], _row["center_id"])


@schemathesis.auth(refresh_interval=None)
class Credentials:
    def get(self, case, ctx):
        with ENGINE.begin() as conn:
            sid = web_sessions.start(conn, ADMIN, "schemathesis", time.time())
        csrf = secrets.token_urlsafe(24)
        return SIGNER.dumps({"sid": sid, "csrf": csrf, "lang": "vi"}), csrf

    def set(self, case, data, ctx):
        cookie, csrf = data
        center = case.body.get("center") if isinstance(case.body, dict) else None
        token = TOKENS.get(center, TOKENS[CENTERS[0]]) if isinstance(center, str) else TOKENS[CENTERS[0]]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        case.cookies = {**(case.cookies or {}), "session": cookie}
        if case.operation.path in ("/login", "/logout") and isinstance(case.body, dict):
            case.body["csrf"] = csrf


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Three in four batches with a seq are numbered right after the center's mark, as a gateway
    numbers them, so that they reach the code that stores them; the rest keep their drawn seq
    (mostly 409). Sent right before the request, so the mark is the one the server holds."""
    body = case.body
    if case.operation.path != "/api/v1/sync" or not isinstance(body, dict):
        return
    if not isinstance(body.get("center"), str) or body["center"] not in TOKENS:
        return
    if type(body.get("seq")) is not int or body["seq"] % 4 == 0:
        return
    with ENGINE.connect() as conn:
        mark = conn.execute(select(func.max(batches.c.seq)).where(batches.c.center_id == body["center"])).scalar()
    body["seq"] = (mark or 0) + 1


@schemathesis.hook
def map_body(ctx, body):
    """A well-formed center id becomes one of the registered centers (a malformed one stays, to be refused)."""
    if isinstance(body, dict) and isinstance(body.get("center"), str) and ids.CENTER_ID.fullmatch(body["center"]):
        body["center"] = CENTERS[hash(body["center"]) % len(CENTERS)]
    return body


def _number(value):
    """5.0 as 5: JSON has one number type, and the server takes both (server/sync_api.py)."""
    return int(value) if type(value) is float and value.is_integer() else value


def _keys_twice(rows, key) -> bool:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return False
    keys = [tuple(json.dumps(_number(r.get(k))) for k in key) for r in rows]
    return len(set(keys)) != len(keys)


def _cross_field_broken(body) -> bool:
    if not isinstance(body, dict):
        return False
    if _keys_twice(body.get("buckets"), ("day", "hour", "service")) or _keys_twice(
        body.get("counters"), ("day", "counter")
    ):
        return True
    snapshot = body.get("snapshot")
    if not isinstance(snapshot, dict):
        return False
    devices = snapshot.get("devices")
    counts = [_number(devices.get(k)) for k in ("online", "total")] if isinstance(devices, dict) else []
    if all(type(n) is int for n in counts) and counts and counts[0] > counts[1]:
        return True
    tickets = snapshot.get("tickets")
    for place in tickets.values() if isinstance(tickets, dict) else ():
        eta = place.get("eta_min") if isinstance(place, dict) else None
        eta = [_number(m) for m in eta] if isinstance(eta, list) else None
        if eta is not None and len(eta) == 2 and all(type(m) is int for m in eta) and eta[0] > eta[1]:
            return True
    return False


@schemathesis.hook
def filter_body(ctx, body):
    return not _cross_field_broken(body)


@schemathesis.hook
def filter_query(ctx, query):
    """Only a range the server takes: from ≤ to ≤ from + 366 days (each one alone defaults to the other)."""
    if not isinstance(query, dict):
        return True
    first, last = query.get("from") or query.get("to"), query.get("to") or query.get("from")
    if not (is_day(first) and is_day(last)):
        return True  # not a range: the server refuses it, or a page takes its default
    days = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return 0 <= days <= MAX_DAYS
