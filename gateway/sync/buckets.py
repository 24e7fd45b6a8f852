"""Hourly buckets and the live snapshot, computed from the queue's state: pure functions.

A ticket counts in the hour it was issued (local time), under its service, for everything that
later happens to it: its wait, its service, its outcome (served, no_show, cancelled or, when its
day ended first, unfinished), its rating. A bucket is therefore final once its tickets are, and
recomputing one from the state always gives its whole value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.sync import (
    BOARD_ALERT_KEYS,
    QUEUE_ALERT_KEYS,
    SERVICE_EDGES_MIN,
    WAIT_EDGES_MIN,
    bin_index,
    empty_bucket,
    empty_counter_day,
)

from ..dispatch.eta import queue_estimates
from ..dispatch.state import CANCELLED, DONE, NO_SHOW, UNFINISHED, WAITING, State, Ticket

Key = tuple[str, int, str]  # (business day, hour, service)
CounterKey = tuple[str, int]  # (business day, counter)


def hour_of(t: Ticket, zone: ZoneInfo) -> int:
    return datetime.fromtimestamp(t.arrived_at, zone).hour


def touched(state: State, events: Iterable[Any], zone: ZoneInfo) -> set[Key]:
    """The buckets a run of (already committed) events changed."""
    keys = set()
    for e in events:
        ticket = getattr(e, "ticket", None)
        t = state.tickets.get(ticket) if ticket else None
        if t is not None:
            keys.add((state.day, hour_of(t, zone), t.service))
    return keys


def touched_counters(state: State, events: Iterable[Any]) -> set[CounterKey]:
    """The counter-days a run of events changed: a completion or a rating at a counter."""
    return {(state.day, e.counter) for e in events if getattr(e, "ticket", None) and getattr(e, "counter", None)}


def counter_days(state: State, keys: Iterable[CounterKey]) -> list[dict[str, Any]]:
    """The whole value of each named counter-day of the state's day."""
    out = {c: empty_counter_day(state.day, c) for d, c in keys if d == state.day}
    for t in state.tickets.values():
        served = out.get(t.served_by) if t.state == DONE else None
        if served is not None:
            served["served"] += 1
            if t.outcome in ("resolved", "forwarded", "returned"):
                served[t.outcome] += 1
            service_s = _service_s(t)
            if service_s is not None:
                served["service_sum_s"] += round(service_s)
                served["service_hist"][bin_index(SERVICE_EDGES_MIN, service_s / 60)] += 1
        rated = out.get(t.rated_counter) if t.rating is not None else None
        if rated is not None:
            rated["rated"] += 1
            rated["rating_sum"] += t.rating
            rated["ratings"][t.rating - 1] += 1
    return [out[c] for c in sorted(out)]


def _service_s(t: Ticket) -> float | None:
    """Time at the counter: from the start of service (or the call, if none was marked) to the end."""
    began = t.started_at if t.started_at is not None else t.called_at
    return None if began is None or t.ended_at is None else max(0.0, t.ended_at - began)


def buckets(state: State, keys: Iterable[Key], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The whole value of each bucket of the state's day named in `keys`."""
    wanted = {(h, s) for d, h, s in keys if d == state.day}
    fields = {code: s.field for code, s in state.services.items()}  # each letter's field in the service catalog
    out = {(h, s): empty_bucket(state.day, h, s, fields.get(s, "khac")) for h, s in wanted}
    for t in state.tickets.values():
        b = out.get((hour_of(t, zone), t.service))
        if b is not None:
            _add(b, t)
    return [out[k] for k in sorted(out)]


def _add(b: dict[str, Any], t: Ticket) -> None:
    b["issued"] += 1
    b["priority"] += t.priority is not None
    if t.first_called_at is not None:
        wait_s = max(0.0, t.first_called_at - t.arrived_at)
        b["called"] += 1
        b["wait_sum_s"] += round(wait_s)
        b["wait_hist"][bin_index(WAIT_EDGES_MIN, wait_s / 60)] += 1
    if t.state == DONE:
        b["served"] += 1
        if t.outcome in ("resolved", "forwarded", "returned"):
            b[t.outcome] += 1
        service_s = _service_s(t)
        if service_s is not None:
            b["service_sum_s"] += round(service_s)
            b["service_hist"][bin_index(SERVICE_EDGES_MIN, service_s / 60)] += 1
    elif t.state in (NO_SHOW, CANCELLED, UNFINISHED):
        b[t.state] += 1  # each of these outcomes is counted under its state's name
    if t.rating is not None:
        b["rated"] += 1
        b["rating_sum"] += t.rating
        b["ratings"][t.rating - 1] += 1


def snapshot(state: State, devices: dict[str, Any], now: float) -> dict[str, Any]:
    """What the province sees live: the queue now, the counters, the boards and their alerts,
    and each active ticket's place (for the public status page: ticket numbers only)."""
    waiting: dict[str, list[Ticket]] = {code: [] for code in state.services}
    for t in state.tickets.values():
        if t.state == WAITING:
            waiting[t.service].append(t)
    tickets: dict[str, dict[str, Any]] = {}
    estimates = queue_estimates(state, now)
    for code, queue in waiting.items():
        queue.sort(key=lambda t: (t.priority is None, t.arrived_at, t.token))
        for ahead, t in enumerate(queue):
            low, high, _ = estimates[code][ahead]
            tickets[t.id] = {"state": WAITING, "ahead": ahead, "eta_min": None if low is None else [low, high]}
    for c in state.counters.values():
        if c.current is not None:
            tickets[c.current] = {"state": state.tickets[c.current].state, "counter": c.number}
    rows = devices.get("devices", [])
    return {
        "taken_at": now,
        "day": state.day,
        "waiting": [
            {
                "service": code,
                "name": s.name,
                "count": len(waiting[code]),
                # never below 0: a clock set back (NTP after an offline boot) puts arrivals ahead of now
                "longest_wait_s": max(0, round(now - min(t.arrived_at for t in waiting[code]))) if waiting[code] else 0,
            }
            for code, s in state.services.items()
        ],
        "counters": [
            {"counter": n, "status": c.status, "ticket": c.current} for n, c in sorted(state.counters.items())
        ],
        "devices": {"online": sum(r["status"] == "online" for r in rows), "total": len(rows)},
        "alerts": [
            {k: a[k] for k in (BOARD_ALERT_KEYS if "device" in a else QUEUE_ALERT_KEYS)}
            for a in devices.get("alerts", [])
        ],
        "tickets": tickets,
    }
