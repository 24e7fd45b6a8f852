"""The sync API: gateways push batches here (docs/sync.md). The server never pulls."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import InternalServerError
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header

from contracts.sync import MAX_BODY_BYTES, BatchError, check_batch

from .accounts import gateway_table, token_center
from .ingest import ingest, resend_reason
from .purge import resend_from, resend_requested

bp = Blueprint("sync", __name__, url_prefix="/api/v1")
SYNC_PATH = "/api/v1/sync"
TOKEN_TTL_S = 25.0  # a revoked token works 25 s at most, so "within 30 s" holds with room to spare


class TokenCache:
    """Every gateway's credential, held by each worker and read again from the database every
    TOKEN_TTL_S: every gateway syncs every few seconds, and a query per request for its token
    would be one more round trip on the hot path. A token unknown here makes the table reload at
    once (a gateway added a moment ago), at most every 2 seconds. A revoked token therefore
    stops working within 30 seconds on every worker of every node (tests/server/test_two_nodes.py)."""

    def __init__(self, ttl_s: float = TOKEN_TTL_S):
        self.ttl_s = ttl_s
        self.table: dict[str, tuple[str, str, bool]] = {}
        self.resend: set[str] = set()  # centers asked to resend after a purge (server/purge.py)
        self.loaded_at = float("-inf")

    def center(self, conn, token: str) -> str | None:
        now = time.monotonic()
        stale = now - self.loaded_at > self.ttl_s
        unknown = token.partition(".")[0] not in self.table and now - self.loaded_at > 2.0
        if stale or unknown:
            self.table, self.resend, self.loaded_at = gateway_table(conn), resend_requested(conn), now
        return token_center(self.table, token)


Answer = tuple[int, bytes, list[tuple[str, str]]]  # status, JSON body, headers besides Content-Type


def error(status: int, code: str, reason: str, where: str | None = None, **extra: Any) -> Answer:
    body = {"error": code, "reason": reason, **({"where": where} if where else {}), **extra}
    return status, json.dumps(body, ensure_ascii=False).encode(), []


def unauthorized(reason: str) -> Answer:
    status, body, _ = error(401, "unauthorized", reason)
    return status, body, [("WWW-Authenticate", 'Bearer realm="hangcho-sync"')]


def too_large() -> Answer:
    return error(413, "too_large", f"a batch is at most {MAX_BODY_BYTES} bytes; send fewer buckets")


def _holds_nul(raw: bytes) -> bool:
    """Whether a string of the body holds a NUL character (\\u0000): PostgreSQL cannot store one in
    a text column nor read one out of JSON as text, so both databases refuse it. `\\\\u0000` is a
    backslash followed by the text u0000, not a NUL."""
    at = raw.find(b"\\u0000")
    while at != -1:
        start = at
        while start and raw[start - 1] == 0x5C:  # the backslashes before this one
            start -= 1
        if (at - start) % 2 == 0:
            return True
        at = raw.find(b"\\u0000", at + 1)
    return False


# A number written with a zero fraction or an exponent (5.0, 5e0): JSON has one number type, and
# JSON Schema counts 5.0 as the integer 5, so the server does too. No gateway writes one, so the
# check runs on the body as parsed; only a body it refuses, and that holds such a number, is
# checked once more with its whole floats made integers (nothing on the common path).
_WHOLE_FLOAT = re.compile(rb"[0-9]\.0+(?![0-9])|[0-9][eE][+-]?[0-9]")


def _integral(value: Any) -> Any:
    if type(value) is float:
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if type(value) is list:
        return [_integral(v) for v in value]
    if type(value) is dict:
        return {k: _integral(v) for k, v in value.items()}
    return value


def _checked(raw: bytes, now: float) -> dict[str, Any]:
    """The batch check_batch makes of the body, or its BatchError."""
    body = orjson.loads(raw)
    try:
        return check_batch(body, now)
    except BatchError:
        if _WHOLE_FLOAT.search(raw) is None:
            raise
        return check_batch(_integral(body), now)


def _connection(engine):
    """PostgreSQL: the sync pool's autocommit connection, the batch being one statement (one round
    trip, no BEGIN/COMMIT). SQLite: one transaction around the few statements."""
    if engine.dialect.name == "postgresql":
        return engine.connect()
    return engine.begin()


def take(ext: Mapping[str, Any], auth: str, content_type: str | None, length: int | None,
         read: Callable[[int], bytes]) -> Answer:  # fmt: skip
    """One batch from one gateway: 200 applied or duplicate; 400 bad batch; 401 no or wrong token;
    403 a token for another center; 409 a seq not above the center's mark (or too far above it,
    or used for a different body), with next_seq; 413 too big; 415 not sent as JSON. `ext` is
    the app's extensions, `read(n)` reads at most n bytes of the body."""
    if not auth.startswith("Bearer "):
        return unauthorized("send the gateway's token: Authorization: Bearer <token>")
    if parse_options_header(content_type)[0].lower() != "application/json":
        return error(415, "unsupported_media_type", f"a batch is JSON: send Content-Type: application/json, not "
                     f"{content_type or 'none'!r}", "Content-Type")  # fmt: skip
    if (length or 0) > MAX_BODY_BYTES:
        return too_large()
    # Read at most one byte past the limit: a chunked body says no length, and must hold to it too.
    raw = read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return too_large()
    tokens = ext["hangcho.tokens"]
    with _connection(ext["hangcho.sync_engine"]) as conn:
        token = auth.removeprefix("Bearer ").strip()
        center = tokens.center(conn, token)
        if center is None:
            return unauthorized("unknown, wrong or revoked gateway token")
        if _holds_nul(raw):
            return error(400, "invalid", "a string holds \\u0000 (NUL), which the database cannot store", "body")
        try:
            batch = _checked(raw, ext["hangcho.clock"]())
        except orjson.JSONDecodeError as e:
            return error(400, "invalid", f"not JSON: {e}", "body")
        except BatchError as e:
            return error(400, "invalid", e.reason, e.where)
        if batch["center"] != center:
            return error(403, "forbidden", f"this token writes center {center!r} only", "center")
        catalog = ext["hangcho.settings"].catalog
        for i, b in enumerate(batch["buckets"]):
            if b["field"] not in catalog:
                reason = (
                    f"service {b['service']} is mapped to {b['field']!r}, which is not in the service catalog: "
                    "map it in the center's config to one of its codes (services[].field; docs/server.md)"
                )
                return error(400, "invalid", reason, f"buckets[{i}].field")
        if batch["seq"] is None and center in tokens.resend:
            first = resend_from(conn, center)
            if first is not None:
                return error(409, "seq_conflict", resend_reason(first), "seq", next_seq=first, resend=True)
            tokens.resend.discard(center)
        outcome = ingest(conn, batch, gateway=token.partition(".")[0])
    if outcome.status == "conflict":
        resend = {"resend": True} if outcome.resend else {}
        return error(409, "seq_conflict", outcome.reason, "seq", next_seq=outcome.next_seq, **resend)
    answer = {"ok": True, "seq": batch["seq"], "duplicate": outcome.status == "duplicate", "applied": outcome.applied}
    return 200, orjson.dumps(answer), []


@bp.post("/sync")
def sync() -> Response:
    """The route as Flask sees it: SyncFront answers POST /api/v1/sync before Flask does; this
    view keeps the route in Flask's map (405 with Allow for any other method) and serves an app
    run without the front."""
    status, body, headers = take(current_app.extensions, request.headers.get("Authorization", ""),
                                 request.content_type, request.content_length, request.stream.read)  # fmt: skip
    return Response(body, status, headers, mimetype="application/json")


class SyncFront:
    """A WSGI layer that takes POST /api/v1/sync before Flask: every gateway syncs every few
    seconds, and Flask's request context, routing and response object cost a province server
    more than the checks and the database do (docs/performance.md). The answer is `take`'s, the
    same as the view's, with the security headers the app adds to every answer (`headers`,
    `secure_headers` over HTTPS). A body without a Content-Length (chunked) goes to Flask, which
    knows how the server ends it."""

    def __init__(self, app: Flask, inner: Callable, headers: Sequence[tuple[str, str]],
                 secure_headers: Sequence[tuple[str, str]]):  # fmt: skip
        self.app, self.inner = app, inner
        self.headers, self.secure_headers = list(headers), list(secure_headers)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH", "")
        if environ.get("PATH_INFO") != SYNC_PATH or environ.get("REQUEST_METHOD") != "POST" or not length.isdigit():
            return self.inner(environ, start_response)
        stream = environ["wsgi.input"]
        try:
            status, body, headers = take(self.app.extensions, environ.get("HTTP_AUTHORIZATION", ""),
                                         environ.get("CONTENT_TYPE"), int(length),
                                         lambda n: stream.read(min(n, int(length))))  # fmt: skip
        except Exception:
            if self.app.testing:
                raise
            self.app.logger.exception("sync request failed")
            failed = InternalServerError()
            status, body, headers = error(500, "internal_server_error", failed.description or "")
        secure = environ.get("wsgi.url_scheme") == "https"
        start_response(f"{status} {HTTP_STATUS_CODES[status]}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers,
                        *(self.secure_headers if secure else self.headers)])  # fmt: skip
        return [body]
