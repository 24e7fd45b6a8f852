"""The floor for the sync benchmark: a Flask endpoint that only reads and parses the body, on
the same gunicorn workers and load as the real one (bench/server_sync.py), so the real sync's
figure can be quoted as a share of what this machine's HTTP stack gives at all."""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

from contracts.sync import MAX_BODY_BYTES

app = Flask(__name__)


@app.post("/api/v1/sync")
def sync() -> Response:
    body = orjson.loads(request.stream.read(MAX_BODY_BYTES + 1))
    return Response(orjson.dumps({"ok": True, "seq": body.get("seq")}), 200, mimetype="application/json")
