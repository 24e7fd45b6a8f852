"""The sync wire format between a center's gateway and the central server: one home for both
(the gateway builds batches with `build_batches`, the server checks them with `check_batch`).

A batch carries a per-center sequence number, hourly buckets and a live snapshot; a batch with
no buckets may leave the sequence out (a snapshot alone, sent every sync interval).
A bucket is the *whole* value of one (business day, hour, service) at the time the gateway
built it, not a change to add: the server keeps, per bucket, the value from the highest
sequence it has seen. A replayed, duplicated or reordered batch therefore cannot count twice,
and the last word on a bucket is always the gateway's newest. docs/sync.md has the details.
"""

from __future__ import annotations

import re
import reprlib
from datetime import date
from typing import Any

from . import ids

VERSION = 1

# Upper edges in minutes of the wait and service-time histograms; a last bin holds the rest.
# Fine where the service-level thresholds sit (10–60 min) so a p90 read off them is within a
# few minutes; see `quantile`.
WAIT_EDGES_MIN = (1, 2, 3, 5, 7, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90, 120, 150, 180, 240)
SERVICE_EDGES_MIN = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 90, 120)

COUNTS = ("issued", "priority", "called", "served", "resolved", "forwarded", "returned", "no_show", "rated")
SUMS = ("wait_sum_s", "service_sum_s", "rating_sum")
HISTOGRAMS = {"wait_hist": len(WAIT_EDGES_MIN) + 1, "service_hist": len(SERVICE_EDGES_MIN) + 1, "ratings": 5}
BUCKET_FIELDS = ("day", "hour", "service", *COUNTS, *SUMS, *HISTOGRAMS)

# Per counter and business day: what the staff at that counter did (a ticket counts at the
# counter that completed it, a rating at the counter it was given at).
COUNTER_COUNTS = ("served", "resolved", "forwarded", "returned", "rated")
COUNTER_SUMS = ("service_sum_s", "rating_sum")
COUNTER_HISTOGRAMS = {"service_hist": len(SERVICE_EDGES_MIN) + 1, "ratings": 5}
COUNTER_FIELDS = ("day", "counter", *COUNTER_COUNTS, *COUNTER_SUMS, *COUNTER_HISTOGRAMS)

MAX_BUCKETS = 500  # per batch: a gateway back from a long outage sends several batches
# A batch's seq must be above the center's high-water mark (the highest seq the server took,
# kept for ever) and at most SEQ_WINDOW above it; else 409 with `next_seq`, and the gateway
# renumbers. A gateway builds at most one batch per sync interval (10 s): 8,640 a day.
SEQ_WINDOW = 10_000
MAX_BODY_BYTES = 1_000_000
MAX_COUNT = 2**31 - 1  # seq, counts and sums are INTEGER columns: PostgreSQL's holds no more
MAX_DEPTH = 16  # of a snapshot's nesting (it is 4 deep); deeper cannot even be stored on SQLite
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # all with fullmatch: `$` would let a trailing newline in


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def _shown(value: Any) -> str:
    """A value quoted in a reason: short, and no recursion into one nested a thousand deep (orjson reads 1,024)."""
    return _SHORT.repr(value)


class BatchError(ValueError):
    """A batch the server cannot take: `where` is the field, `reason` what is wrong with it."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


def bin_index(edges: tuple[int, ...], minutes: float) -> int:
    for i, edge in enumerate(edges):
        if minutes < edge:
            return i
    return len(edges)


def quantile(hist: list[int], edges: tuple[int, ...], q: float) -> float | None:
    """The q-quantile in minutes read off a histogram, interpolating inside the bin it falls in
    (the open last bin counts as twice its lower edge)."""
    total = sum(hist)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(hist):
        if n and seen + n >= rank:
            low = 0 if i == 0 else edges[i - 1]
            high = edges[i] if i < len(edges) else 2 * edges[-1]
            return round(low + (high - low) * (rank - seen) / n, 1)
        seen += n
    return float(edges[-1])


def empty_bucket(day: str, hour: int, service: str) -> dict[str, Any]:
    bucket: dict[str, Any] = {"day": day, "hour": hour, "service": service}
    bucket |= dict.fromkeys(COUNTS, 0) | dict.fromkeys(SUMS, 0)
    bucket |= {name: [0] * size for name, size in HISTOGRAMS.items()}
    return bucket


def empty_counter_day(day: str, counter: int) -> dict[str, Any]:
    row: dict[str, Any] = {"day": day, "counter": counter}
    row |= dict.fromkeys(COUNTER_COUNTS, 0) | dict.fromkeys(COUNTER_SUMS, 0)
    return row | {name: [0] * size for name, size in COUNTER_HISTOGRAMS.items()}


def build_batches(center: str, first_seq: int, buckets: list[dict], counters: list[dict]) -> list[dict[str, Any]]:
    """What a gateway sends for these buckets and counter-days: as many batches as the server's
    MAX_BUCKETS a batch needs, with consecutive seqs from `first_seq`; one batch even if empty."""
    n = max(1, -(-len(buckets) // MAX_BUCKETS), -(-len(counters) // MAX_BUCKETS))
    return [
        {
            "version": VERSION,
            "center": center,
            "seq": first_seq + i,
            "buckets": buckets[i * MAX_BUCKETS : (i + 1) * MAX_BUCKETS],
            "counters": counters[i * MAX_BUCKETS : (i + 1) * MAX_BUCKETS],
        }
        for i in range(n)
    ]


def snapshot_only(center: str) -> dict[str, Any]:
    """A batch with no seq: the live snapshot alone, sent every sync interval."""
    return {"version": VERSION, "center": center}


def _count(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise BatchError(where, f"must be a whole number 0–{MAX_COUNT}, got {_shown(value)}")
    return value


def _is_day(value: Any) -> bool:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return False
    return True


def _values(b: Any, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(b, dict):
        raise BatchError(where, "must be an object")
    unknown = set(b) - set(fields)
    if unknown:
        raise BatchError(f"{where}.{sorted(unknown)[0]}", "unknown field")
    if not _is_day(b.get("day")):
        raise BatchError(f"{where}.day", f"must be a date YYYY-MM-DD, got {_shown(b.get('day'))}")
    return {"day": b["day"]}


def check_bucket(b: Any, where: str) -> dict[str, Any]:
    """A bucket as the server stores it, or BatchError naming the first bad field."""
    out = _values(b, where, BUCKET_FIELDS)
    if type(b.get("hour")) is not int or not 0 <= b["hour"] <= 23:
        raise BatchError(f"{where}.hour", f"must be 0–23, got {_shown(b.get('hour'))}")
    if not isinstance(b.get("service"), str) or not ids.SERVICE_CODE.fullmatch(b["service"]):
        raise BatchError(f"{where}.service", f"must be a service code such as 'A', got {_shown(b.get('service'))}")
    out |= {"hour": b["hour"], "service": b["service"]}
    return _numbers(b, where, out, (*COUNTS, *SUMS), HISTOGRAMS)


def check_counter_day(b: Any, where: str) -> dict[str, Any]:
    out = _values(b, where, COUNTER_FIELDS)
    if type(b.get("counter")) is not int or not 1 <= b["counter"] <= 999:
        raise BatchError(f"{where}.counter", f"must be a counter number 1–999, got {_shown(b.get('counter'))}")
    out["counter"] = b["counter"]
    return _numbers(b, where, out, (*COUNTER_COUNTS, *COUNTER_SUMS), COUNTER_HISTOGRAMS)


def _numbers(b: dict, where: str, out: dict, scalars: tuple[str, ...], histograms: dict[str, int]) -> dict[str, Any]:
    """Counts and histograms; the field path is only built for an error (this runs per request)."""
    for name in scalars:
        value = b.get(name, 0)
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            _count(value, f"{where}.{name}")
        out[name] = value
    for name, size in histograms.items():
        hist = b.get(name)
        if hist is None:
            out[name] = [0] * size
            continue
        if not isinstance(hist, list) or len(hist) != size:
            raise BatchError(f"{where}.{name}", f"must be a list of {size} counts")
        if not all(type(n) is int and 0 <= n <= MAX_COUNT for n in hist):
            for i, n in enumerate(hist):
                _count(n, f"{where}.{name}[{i}]")
        out[name] = hist
    return out


def check_batch(body: Any) -> dict[str, Any]:
    """The batch's center, seq (None for a snapshot alone), snapshot and checked buckets, or
    BatchError."""
    if not isinstance(body, dict):
        raise BatchError("body", "must be a JSON object")
    if body.get("version", VERSION) != VERSION:
        raise BatchError("version", f"this server speaks version {VERSION}, got {_shown(body.get('version'))}")
    center = body.get("center")
    if not isinstance(center, str) or not ids.CENTER_ID.fullmatch(center):
        raise BatchError("center", f"must be a center id such as 'phuong-ba-dinh', got {_shown(center)}")
    buckets = body.get("buckets", [])
    if not isinstance(buckets, list) or len(buckets) > MAX_BUCKETS:
        raise BatchError("buckets", f"must be a list of at most {MAX_BUCKETS} buckets")
    seq = body.get("seq")
    if (seq is not None or buckets) and (type(seq) is not int or not 1 <= seq <= MAX_COUNT):
        reason = f"must be a whole number 1–{MAX_COUNT} (a snapshot alone may omit it), got {_shown(seq)}"
        raise BatchError("seq", reason)
    snapshot = body.get("snapshot")
    if snapshot is not None:
        _check_snapshot(snapshot)
    counters = body.get("counters", [])
    if not isinstance(counters, list) or len(counters) > MAX_BUCKETS:
        raise BatchError("counters", f"must be a list of at most {MAX_BUCKETS} counter-days")
    if counters and seq is None:
        raise BatchError("seq", "a batch with counters needs a seq")
    checked = [check_bucket(b, f"buckets[{i}]") for i, b in enumerate(buckets)]
    per_counter = [check_counter_day(c, f"counters[{i}]") for i, c in enumerate(counters)]
    _once(checked, ("day", "hour", "service"), "buckets")
    _once(per_counter, ("day", "counter"), "counters")
    return {"center": center, "seq": seq, "snapshot": snapshot, "buckets": checked, "counters": per_counter}


def _check_snapshot(snapshot: Any) -> None:
    """An object whose taken_at is epoch seconds (a number, not a boolean, after 1970 and before the
    year 5000), nested no deeper than MAX_DEPTH; the rest is the gateway's view, stored as sent."""
    if not isinstance(snapshot, dict):
        raise BatchError("snapshot", "must be an object with taken_at (epoch seconds)")
    taken_at = snapshot.get("taken_at")
    if type(taken_at) not in (int, float) or not 0 < taken_at < 1e11:
        raise BatchError("snapshot", f"taken_at must be epoch seconds, got {_shown(taken_at)}")
    stack = [(snapshot, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BatchError("snapshot", f"is nested more than {MAX_DEPTH} deep")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    _check_snapshot_parts(snapshot)


# The parts of a snapshot the server reads (the dashboard, the public ticket page), and what each
# entry must hold: a type, or a tuple of allowed types. Other keys are kept as sent.
_NUMBER = (int, float)
SNAPSHOT_LISTS = {
    "waiting": {"service": str, "count": int, "longest_wait_s": _NUMBER},
    "counters": {"counter": int, "status": str, "ticket": (str, type(None))},
    "alerts": {"device": str, "kind": str, "message": str},
}
SNAPSHOT_TICKET = {"state": str, "ahead": int, "counter": int, "eta_min": (list, type(None))}


def _check_snapshot_parts(snapshot: dict[str, Any]) -> None:
    """Missing parts are fine (the pages show nothing for them); present ones must have the
    shape the pages read, so one odd gateway cannot break the province's dashboard."""
    for name, fields in SNAPSHOT_LISTS.items():
        entries = snapshot.get(name, [])
        if not isinstance(entries, list):
            raise BatchError(f"snapshot.{name}", f"must be a list, got {_shown(entries)}")
        for i, entry in enumerate(entries):
            _check_entry(entry, fields, f"snapshot.{name}[{i}]")
    devices = snapshot.get("devices", {"online": 0, "total": 0})
    _check_entry(devices, {"online": int, "total": int}, "snapshot.devices")
    if not isinstance(snapshot.get("day", ""), str):
        raise BatchError("snapshot.day", f"must be a date YYYY-MM-DD, got {_shown(snapshot.get('day'))}")
    tickets = snapshot.get("tickets", {})
    if not isinstance(tickets, dict):
        raise BatchError("snapshot.tickets", f"must be an object of ticket → place, got {_shown(tickets)}")
    for ticket, entry in tickets.items():
        _check_entry(entry, SNAPSHOT_TICKET, f"snapshot.tickets.{_shown(ticket)}")
        eta = entry.get("eta_min")
        if eta is not None and (len(eta) != 2 or any(type(m) is not int for m in eta)):
            where = f"snapshot.tickets.{_shown(ticket)}.eta_min"
            raise BatchError(where, f"must be [low, high] minutes, got {_shown(eta)}")


def _check_entry(entry: Any, fields: dict[str, Any], where: str) -> None:
    if not isinstance(entry, dict):
        raise BatchError(where, f"must be an object, got {_shown(entry)}")
    for key, kind in fields.items():
        if key in entry:
            value, kinds = entry[key], kind if isinstance(kind, tuple) else (kind,)
            if type(value) is bool or not isinstance(value, kinds):
                raise BatchError(f"{where}.{key}", f"has the wrong type: {_shown(value)}")


def _once(rows: list[dict[str, Any]], key: tuple[str, ...], name: str) -> None:
    """Each bucket (or counter-day) at most once per batch: one statement cannot write a row twice."""
    if len({tuple(r[k] for k in key) for r in rows}) == len(rows):
        return
    seen: set[tuple] = set()
    for i, r in enumerate(rows):
        k = tuple(r[f] for f in key)
        if k in seen:
            raise BatchError(f"{name}[{i}]", f"the same {', '.join(key)} as an earlier one: send each once")
        seen.add(k)
