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
from datetime import UTC, date, datetime
from typing import Any

from . import catalog, ids

VERSION = 1

# Upper edges in minutes of the wait and service-time histograms; a last bin holds the rest.
# Fine where the service-level thresholds sit (10–60 min) so a p90 read off them is within a
# few minutes; see `quantile`.
WAIT_EDGES_MIN = (1, 2, 3, 5, 7, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90, 120, 150, 180, 240)
SERVICE_EDGES_MIN = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 90, 120)

# Each ticket counts once in `issued` and, once its day has closed, once in exactly one outcome:
# served (= resolved + forwarded + returned) + no_show + cancelled + unfinished = issued.
COUNTS = ("issued", "priority", "called", "served", "resolved", "forwarded", "returned", "no_show", "cancelled",
          "unfinished", "rated")  # fmt: skip
SUMS = ("wait_sum_s", "service_sum_s", "rating_sum")
HISTOGRAMS = {"wait_hist": len(WAIT_EDGES_MIN) + 1, "service_hist": len(SERVICE_EDGES_MIN) + 1, "ratings": 5}
BUCKET_FIELDS = ("day", "hour", "service", "field", *COUNTS, *SUMS, *HISTOGRAMS)  # field: the catalog's code

# Per counter and business day: what the staff at that counter did (a ticket counts at the
# counter that completed it, a rating at the counter it was given at).
COUNTER_COUNTS = ("served", "resolved", "forwarded", "returned", "rated")
COUNTER_SUMS = ("service_sum_s", "rating_sum")
COUNTER_HISTOGRAMS = {"service_hist": len(SERVICE_EDGES_MIN) + 1, "ratings": 5}
COUNTER_FIELDS = ("day", "counter", *COUNTER_COUNTS, *COUNTER_SUMS, *COUNTER_HISTOGRAMS)

BATCH_KEYS = frozenset({"version", "center", "seq", "buckets", "counters", "snapshot"})
MAX_BUCKETS = 500  # per batch: a gateway back from a long outage sends several batches
# A batch's seq must be above the center's high-water mark (the highest seq the server took,
# kept for ever) and at most SEQ_WINDOW above it; else 409 with `next_seq`, and the gateway
# renumbers. A gateway builds at most one batch per sync interval (10 s): 8,640 a day.
SEQ_WINDOW = 10_000
MAX_BODY_BYTES = 1_000_000
MAX_COUNT = 2**31 - 1  # seq, counts and sums are INTEGER columns: PostgreSQL's holds no more
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


def empty_bucket(day: str, hour: int, service: str, field: str = "khac") -> dict[str, Any]:
    """`field`: the service's code in the service catalog (contracts/catalog.py), as its center maps it."""
    bucket: dict[str, Any] = {"day": day, "hour": hour, "service": service, "field": field}
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


def empty_snapshot(taken_at: float, day: str) -> dict[str, Any]:
    """A center's snapshot with nobody waiting, no counters, no boards: the smallest a server takes."""
    return {"taken_at": taken_at, "day": day, "waiting": [], "counters": [], "devices": {"online": 0, "total": 0},
            "alerts": [], "tickets": {}}  # fmt: skip


def snapshot_only(center: str) -> dict[str, Any]:
    """A batch with no seq: the live snapshot alone, sent every sync interval."""
    return {"version": VERSION, "center": center}


def _count(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise BatchError(where, f"must be a whole number 0–{MAX_COUNT}, got {_shown(value)}")
    return value


def is_day(value: Any) -> bool:
    """A real date written YYYY-MM-DD and nothing else (Python's fromisoformat also takes 20261123)."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return False
    return True


def _values(b: Any, where: str, fields: tuple[str, ...], today: date | None) -> dict[str, Any]:
    if not isinstance(b, dict):
        raise BatchError(where, "must be an object")
    unknown = set(b) - set(fields)
    if unknown:
        raise BatchError(f"{where}.{sorted(str(k) for k in unknown)[0]}", "unknown field")
    return {"day": _checked_day(b.get("day"), f"{where}.day", today)}


def check_bucket(b: Any, where: str, today: date | None = None) -> dict[str, Any]:
    """A bucket as the server stores it, or BatchError naming the first bad field; `today`, the
    server's date, bounds its day."""
    out = _values(b, where, BUCKET_FIELDS, today)
    if type(b.get("hour")) is not int or not 0 <= b["hour"] <= 23:
        raise BatchError(f"{where}.hour", f"must be 0–23, got {_shown(b.get('hour'))}")
    if not isinstance(b.get("service"), str) or not ids.SERVICE_CODE.fullmatch(b["service"]):
        raise BatchError(f"{where}.service", f"must be a service code such as 'A', got {_shown(b.get('service'))}")
    if not isinstance(b.get("field"), str) or not catalog.FIELD_CODE.fullmatch(b["field"]):
        raise BatchError(f"{where}.field", "unmapped service: its center's config must map it to a code of the service "
                         f"catalog (services[].field), got {_shown(b.get('field'))}")  # fmt: skip
    out |= {"hour": b["hour"], "service": b["service"], "field": b["field"]}
    return _numbers(b, where, out, (*COUNTS, *SUMS), HISTOGRAMS)


def check_counter_day(b: Any, where: str, today: date | None = None) -> dict[str, Any]:
    out = _values(b, where, COUNTER_FIELDS, today)
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


def check_batch(body: Any, now: float | None = None) -> dict[str, Any]:
    """The batch's center, seq (None for a snapshot alone), snapshot and checked buckets, or
    BatchError. `now` is the server's clock, which bounds the days and `taken_at` (without it,
    as a gateway checks what it built, only their form)."""
    if not isinstance(body, dict):
        raise BatchError("body", "must be a JSON object")
    unknown = set(body) - BATCH_KEYS
    if unknown:
        raise BatchError(sorted(str(k) for k in unknown)[0], "unknown field")
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
        _check_snapshot(snapshot, now, None if now is None else utc_day(now))
    counters = body.get("counters", [])
    if not isinstance(counters, list) or len(counters) > MAX_BUCKETS:
        raise BatchError("counters", f"must be a list of at most {MAX_BUCKETS} counter-days")
    if counters and seq is None:
        raise BatchError("seq", "a batch with counters needs a seq")
    today = None if now is None else utc_day(now)
    checked = [check_bucket(b, f"buckets[{i}]", today) for i, b in enumerate(buckets)]
    per_counter = [check_counter_day(c, f"counters[{i}]", today) for i, c in enumerate(counters)]
    _once(checked, ("day", "hour", "service"), "buckets")
    _once(per_counter, ("day", "counter"), "counters")
    return {"center": center, "seq": seq, "snapshot": snapshot, "buckets": checked, "counters": per_counter}


# The live snapshot, checked whole: every key below is required and no other is taken, so any
# snapshot the server stores is one every page and export can render. Clocks: `taken_at` within
# TAKEN_AT_PAST_S before and TAKEN_AT_AHEAD_S after the server's clock (the gateway takes it
# just before sending; the newest taken_at wins, so one far ahead would win for ever); a
# bucket's, counter-day's or snapshot's day within DAYS_PAST before and a day after the
# server's UTC date. A gateway whose clock is off further gets 400 naming the field and the
# server's time, which it logs, and sends again once its clock is right.
TAKEN_AT_PAST_S = 86_400
TAKEN_AT_AHEAD_S = 900
DAYS_PAST = 400
TICKET_STATES = ("waiting", "called", "serving")  # a snapshot's tickets: in the queue or at a counter
COUNTER_STATUSES = ("open", "paused", "closed")
MAX_NAME = 200  # characters of a service's name or an alert's message
MAX_TICKETS = 20_000  # in one snapshot: a day's numbers of every service
# An alert is a board's (what needs a technician) or the queue's (what needs a leader). Snapshots
# sent before queue alerts existed hold board alerts only, and stay valid.
BOARD_ALERT_KEYS = ("device", "kind", "message")
QUEUE_ALERT_KEYS = ("service", "kind", "message")  # service: its code, or null for the whole center
QUEUE_ALERTS = ("overload", "long_wait", "stall")
"""The queue's alert kinds (gateway/dispatch/alerts.py), which pages show apart. Not enforced: a
newer gateway's new kind must not cost a batch at an older server, which shows its message."""


def _checked_day(value: Any, where: str, today: date | None) -> str:
    if not is_day(value):
        raise BatchError(where, f"must be a date YYYY-MM-DD, got {_shown(value)}")
    if today is not None and not -DAYS_PAST <= (date.fromisoformat(value) - today).days <= 1:
        raise BatchError(where, f"{value} is not within {DAYS_PAST} days before and a day after the server's "
                                f"date {today} (is the gateway's clock right?)")  # fmt: skip
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise BatchError(where, f"must be a whole number {low}–{high}, got {_shown(value)}")
    return value


def _text(value: Any, where: str, longest: int = MAX_NAME, pattern: re.Pattern | None = None,
          allowed: tuple[str, ...] = ()) -> str:  # fmt: skip
    if not isinstance(value, str) or len(value) > longest:
        raise BatchError(where, f"must be text of at most {longest} characters, got {_shown(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise BatchError(where, f"must match {pattern.pattern}, got {_shown(value)}")
    if allowed and value not in allowed:
        raise BatchError(where, f"must be one of {', '.join(allowed)}, got {_shown(value)}")
    return value


def _keys(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """An object with exactly these keys."""
    if not isinstance(value, dict):
        raise BatchError(where, f"must be an object, got {_shown(value)}")
    if len(value) != len(keys) or any(k not in value for k in keys):
        missing = [k for k in keys if k not in value]
        if missing:
            raise BatchError(f"{where}.{missing[0]}", "is missing")
        extra = sorted(str(k) for k in value if k not in keys)
        raise BatchError(f"{where}.{extra[0]}", "unknown field")
    return value


def _list(value: Any, where: str, longest: int) -> list:
    if not isinstance(value, list) or len(value) > longest:
        raise BatchError(where, f"must be a list of at most {longest}, got {_shown(value)}")
    return value


SNAPSHOT_KEYS = ("taken_at", "day", "waiting", "counters", "devices", "alerts", "tickets")


def _check_snapshot(snapshot: Any, now: float | None, today: date | None) -> None:
    """The snapshot whole, or BatchError naming the first path that is wrong. Each item is first
    put to a quick test of the usual, right case (`_waiting_ok` …), which runs on every sync;
    only an item that fails it goes through the checks that build its path and say the reason."""
    _keys(snapshot, "snapshot", SNAPSHOT_KEYS)
    taken_at = snapshot["taken_at"]
    if type(taken_at) not in (int, float) or not 0 < taken_at < 1e11:
        raise BatchError("snapshot.taken_at", f"must be epoch seconds, got {_shown(taken_at)}")
    if now is not None and not now - TAKEN_AT_PAST_S <= taken_at <= now + TAKEN_AT_AHEAD_S:
        reason = (f"{taken_at:.0f} is not within a day before and {TAKEN_AT_AHEAD_S // 60} min after the "
                  f"server's clock, {now:.0f} (is the gateway's clock right?)")  # fmt: skip
        raise BatchError("snapshot.taken_at", reason)
    _checked_day(snapshot["day"], "snapshot.day", today)
    for i, w in enumerate(_list(snapshot["waiting"], "snapshot.waiting", 26)):
        if not _waiting_ok(w):
            _check_waiting(w, f"snapshot.waiting[{i}]")
    for i, c in enumerate(_list(snapshot["counters"], "snapshot.counters", 999)):
        if not _counter_ok(c):
            _check_counter(c, f"snapshot.counters[{i}]")
    devices = _keys(snapshot["devices"], "snapshot.devices", ("online", "total"))
    _int(devices["online"], "snapshot.devices.online", 0, _int(devices["total"], "snapshot.devices.total", 0, 9999))
    for i, a in enumerate(_list(snapshot["alerts"], "snapshot.alerts", 1000)):
        if not _alert_ok(a):
            _check_alert(a, f"snapshot.alerts[{i}]")
    tickets = snapshot["tickets"]
    if not isinstance(tickets, dict) or len(tickets) > MAX_TICKETS:
        raise BatchError("snapshot.tickets", f"must be an object of at most {MAX_TICKETS} ticket → place")
    for ticket, place in tickets.items():
        if not (type(ticket) is str and _TICKET(ticket) and _place_ok(place)):
            where = f"snapshot.tickets.{_shown(ticket)}"
            _text(ticket, where, 5, ids.TICKET)
            _check_place(place, where)


def _check_waiting(w: Any, where: str) -> None:
    _keys(w, where, ("service", "name", "count", "longest_wait_s"))
    _text(w["service"], f"{where}.service", 1, ids.SERVICE_CODE)
    _text(w["name"], f"{where}.name")
    _int(w["count"], f"{where}.count", 0, MAX_TICKETS)
    _int(w["longest_wait_s"], f"{where}.longest_wait_s", 0, MAX_COUNT)


def _check_counter(c: Any, where: str) -> None:
    _keys(c, where, ("counter", "status", "ticket"))
    _int(c["counter"], f"{where}.counter", 1, 999)
    _text(c["status"], f"{where}.status", 8, allowed=COUNTER_STATUSES)
    if c["ticket"] is not None:
        _text(c["ticket"], f"{where}.ticket", 5, ids.TICKET)


def _check_alert(a: Any, where: str) -> None:
    """A board's alert names its `device`; a queue's names its `service` (null: the whole center)."""
    if isinstance(a, dict) and "service" in a:
        _keys(a, where, QUEUE_ALERT_KEYS)
        if a["service"] is not None:
            _text(a["service"], f"{where}.service", 1, ids.SERVICE_CODE)
    else:
        _keys(a, where, BOARD_ALERT_KEYS)
        _text(a["device"], f"{where}.device", 32, ids.DEVICE_ID)
    _text(a["kind"], f"{where}.kind", 32, ids.PRIORITY_CLASS)
    _text(a["message"], f"{where}.message", 2 * MAX_NAME)


def _check_place(place: Any, where: str) -> None:
    """Waiting: its place and wait range; at a counter: which one."""
    state = place.get("state") if isinstance(place, dict) else None
    if state == "waiting":
        _keys(place, where, ("state", "ahead", "eta_min"))
        _int(place["ahead"], f"{where}.ahead", 0, MAX_TICKETS)
        eta = place["eta_min"]
        if eta is not None and (not isinstance(eta, list) or len(eta) != 2 or any(type(m) is not int for m in eta)
                                or not 0 <= eta[0] <= eta[1] <= 2 * 1440):  # fmt: skip
            raise BatchError(f"{where}.eta_min", f"must be [low, high] minutes, 0 ≤ low ≤ high, got {_shown(eta)}")
    else:
        _keys(place, where, ("state", "counter"))
        _text(state, f"{where}.state", 8, allowed=TICKET_STATES)
        _int(place["counter"], f"{where}.counter", 1, 999)


# The quick tests: True only for what the _check_ function beside each takes (a False costs only
# the slower way to the same verdict). tests/server/test_sync_api.py holds them to that.
_TICKET, _SERVICE = ids.TICKET.fullmatch, ids.SERVICE_CODE.fullmatch
_DEVICE, _KIND = ids.DEVICE_ID.fullmatch, ids.PRIORITY_CLASS.fullmatch


def _waiting_ok(w: Any) -> bool:
    return (type(w) is dict and len(w) == 4 and type(s := w.get("service")) is str and _SERVICE(s) is not None
            and type(name := w.get("name")) is str and len(name) <= MAX_NAME
            and type(n := w.get("count")) is int and 0 <= n <= MAX_TICKETS
            and type(n := w.get("longest_wait_s")) is int and 0 <= n <= MAX_COUNT)  # fmt: skip


def _counter_ok(c: Any) -> bool:
    return (type(c) is dict and len(c) == 3 and type(n := c.get("counter")) is int and 1 <= n <= 999
            and c.get("status") in COUNTER_STATUSES and "ticket" in c
            and ((t := c["ticket"]) is None or (type(t) is str and _TICKET(t) is not None)))  # fmt: skip


def _alert_ok(a: Any) -> bool:
    if type(a) is not dict or len(a) != 3:
        return False
    if "service" in a:
        named = (s := a["service"]) is None or (type(s) is str and _SERVICE(s) is not None)
    else:
        named = type(d := a.get("device")) is str and len(d) <= 32 and _DEVICE(d) is not None
    return (named and type(k := a.get("kind")) is str and len(k) <= 32 and _KIND(k) is not None
            and type(m := a.get("message")) is str and len(m) <= 2 * MAX_NAME)  # fmt: skip


def _place_ok(p: Any) -> bool:
    if type(p) is not dict:
        return False
    if p.get("state") != "waiting":
        return (p.get("state") in ("called", "serving") and len(p) == 2 and type(n := p.get("counter")) is int
                and 1 <= n <= 999)  # fmt: skip
    if len(p) != 3 or type(n := p.get("ahead")) is not int or not 0 <= n <= MAX_TICKETS or "eta_min" not in p:
        return False
    eta = p["eta_min"]
    return eta is None or (type(eta) is list and len(eta) == 2 and type(eta[0]) is int and type(eta[1]) is int
                           and 0 <= eta[0] <= eta[1] <= 2 * 1440)  # fmt: skip


def utc_day(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


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
