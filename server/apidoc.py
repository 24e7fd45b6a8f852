"""The API document as served: server/openapi.json with the bounds that move with the clock filled in.

The file states every rule in words and as schema; two rules depend on the server's clock (the
days a batch may carry, and `taken_at`), and a schema cannot say "within a day of now". So the
served copy lists today's accepted days as an `enum` and puts numbers on `taken_at`, and its
examples carry today's date: a client (or an API tester) generating bodies from the served
document sends only what the server takes.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from functools import cache
from pathlib import Path

from contracts.sync import DAYS_PAST, TAKEN_AT_AHEAD_S, TAKEN_AT_PAST_S, utc_day

FILE = Path(__file__).with_name("openapi.json")
MARGIN_S = 3600  # the lower bound of `taken_at` is stated an hour inside the server's, so it stays true for an hour


@cache
def document() -> dict:
    return json.loads(FILE.read_text(encoding="utf-8"))


def served(now: float) -> dict:
    """The document for a server whose clock reads `now`."""
    doc = copy.deepcopy(document())
    schemas = doc["components"]["schemas"]
    today = utc_day(now)
    days = [(today + timedelta(days=d)).isoformat() for d in range(-DAYS_PAST, 2)]
    schemas["SyncDay"]["enum"] = days
    taken_at = schemas["Snapshot"]["properties"]["taken_at"]
    taken_at |= {"minimum": round(now - TAKEN_AT_PAST_S + MARGIN_S), "maximum": round(now + TAKEN_AT_AHEAD_S)}
    snapshot, day = schemas["Snapshot"]["example"], today.isoformat()
    snapshot |= {"taken_at": round(now), "day": day}
    for name in ("Bucket", "CounterDay"):
        schemas[name]["example"]["day"] = day
    body = doc["paths"]["/api/v1/sync"]["post"]["requestBody"]["content"]["application/json"]
    for example in body["examples"].values():
        batch = example["value"]
        batch["snapshot"] = snapshot
        for row in (*batch.get("buckets", ()), *batch.get("counters", ())):
            row["day"] = day
    return doc
