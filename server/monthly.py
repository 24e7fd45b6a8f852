"""The leader's monthly report: per center, commune and province, a month beside the one before.

What a province leader reviews each month (filings received, resolved on the spot, forwarded,
no-shows, waits, satisfaction, counters open), each with its change from the previous month in
words. The sums are the dashboard's (reports._add, reports.metrics); this module adds only what a
month needs: the share of waits over the threshold (read off the wait histogram's bins, each
service against its own threshold) and counters open per day (from counter_days).

`month_sums` is the one place that reads rows; the rest are pure functions of what it returns.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from contracts.sync import WAIT_EDGES_MIN

from . import hierarchy, reports
from .schema import counter_days
from .settings import Settings

MONTH = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")
# The indicators in the order people read them, and which way is better (+1 up, -1 down, 0 neither).
INDICATORS = {
    "issued": 0,
    "received": 0,
    "resolved_pct": 1,
    "forwarded": 0,
    "no_show": -1,
    "avg_wait_min": -1,
    "p90_wait_min": -1,
    "over_threshold_pct": -1,
    "satisfaction": 1,
    "counters_per_day": 0,
}
PERCENTS = ("resolved_pct", "over_threshold_pct")  # their change is in percentage points
DIGITS = {"satisfaction": 2}  # the rest: 1 decimal (counts are whole anyway)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> str:
        return date(self.year, self.month, 1).isoformat()

    @property
    def last(self) -> str:
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return (following - timedelta(days=1)).isoformat()

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def label(self) -> str:
        return f"{self.month:02d}/{self.year}"


def parse_month(text: str) -> Month:
    """YYYY-MM (2000–2099); ValueError otherwise (the route's 400 names the parameter)."""
    found = MONTH.fullmatch(text)
    if not found:
        raise ValueError(f"month must be YYYY-MM, a month from 2000-01 to 2099-12 (got {text[:20]!r})")
    return Month(int(found.group(1)), int(found.group(2)))


def last_complete(today: date) -> Month:
    """The default: the month before today's, the last one whose figures are final."""
    return Month(today.year, today.month).previous()


def waits_over(hist: list[int] | None, threshold: float, edges: tuple[int, ...] = WAIT_EDGES_MIN) -> float:
    """How many of the histogram's waits were longer than the threshold (minutes): whole bins above
    it, and of the bin it falls inside the part above it, as if spread evenly (as quantile reads
    inside a bin; the open last bin ends at twice its lower edge)."""
    if not hist:
        return 0.0
    over = 0.0
    for i, n in enumerate(hist):
        low = 0 if i == 0 else edges[i - 1]
        high = edges[i] if i < len(edges) else 2 * edges[-1]
        if low >= threshold:
            over += n
        elif high > threshold:
            over += n * (high - threshold) / (high - low)
    return over


def _fresh() -> dict[str, Any]:
    return reports._empty() | {"waits_over": 0.0, "counter_days": 0, "open_days": set()}


def combine(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Several centers' sums as one (a commune's sites, a province's communes)."""
    total = _fresh()
    for part in parts:
        reports._add(total, part)
        total["waits_over"] += part["waits_over"]
        total["counter_days"] += part["counter_days"]
        total["open_days"] |= part["open_days"]
    return total


def month_sums(conn: Connection, ids: list[str], month: Month, settings: Settings) -> dict[str, dict[str, Any]]:
    """Per center, the month's additive sums: the dashboard's, the waits over each service's
    threshold, counter-days and the days the center had a counter open. The one read of rows
    (through reports' range read, so it follows reports onto its roll-up tables)."""
    sums = {i: _fresh() for i in ids}
    by_service: dict[tuple[str, str], dict[str, Any]] = defaultdict(reports._empty)
    for r in reports._hourly(conn, ids, month.first, month.last):
        reports._add(by_service[(r["center_id"], r["service"])], r)
    for (center_id, service), t in by_service.items():  # waits_over adds up: once per service, not per hour
        reports._add(sums[center_id], t)
        sums[center_id]["waits_over"] += waits_over(t["wait_hist"], settings.threshold(service))
    if ids:
        query = select(counter_days.c.center_id, counter_days.c.day).where(
            counter_days.c.center_id.in_(ids), counter_days.c.day >= month.first, counter_days.c.day <= month.last
        )
        for center_id, day in conn.execute(query):
            sums[center_id]["counter_days"] += 1
            sums[center_id]["open_days"].add(day)
    return sums


def figures(t: dict[str, Any]) -> dict[str, Any]:
    """The indicators read off a month's sums (None where there is nothing to read)."""
    m = reports.metrics(t)
    waits = sum(t["wait_hist"] or [])
    days = len(t["open_days"])
    return {
        "issued": m["issued"],
        "received": m["served"],  # filings taken at a counter: resolved + forwarded + returned
        "resolved_pct": m["resolved_pct"],
        "forwarded": m["forwarded"],
        "no_show": m["no_show"],
        "avg_wait_min": m["avg_wait_min"],
        "p90_wait_min": m["p90_wait_min"],
        "over_threshold_pct": round(100 * t["waits_over"] / waits, 1) if waits else None,
        "satisfaction": m["satisfaction"],
        "counters_per_day": round(t["counter_days"] / days, 1) if days else None,
        "open_days": days,
    }


def change(key: str, now: float | None, before: float | None) -> dict[str, Any]:
    """This month against the previous: the difference, its direction, and whether that is better
    (None when either month has no figure, or the indicator is neither better up nor down)."""
    if now is None or before is None:
        return {"diff": None, "direction": None, "better": None}
    diff = round(now - before, DIGITS.get(key, 1))
    direction = "up" if diff > 0 else "down" if diff < 0 else "same"
    better = None if INDICATORS[key] == 0 or diff == 0 else (diff > 0) == (INDICATORS[key] > 0)
    return {"diff": diff, "direction": direction, "better": better}


def entry(now: dict[str, Any], before: dict[str, Any], **place: Any) -> dict[str, Any]:
    """A place's month, the one before, and the changes; a previous month with no ticket and no
    counter open (a center not yet working) has no change to show, not a rise from zero."""
    a, b = figures(now), figures(before)
    idle = b["issued"] == 0 and b["open_days"] == 0
    return {**place, "now": a, "before": b,
            "change": {k: change(k, a[k], None if idle else b[k]) for k in INDICATORS}}  # fmt: skip


def _commune_key(c: dict) -> str:
    return str(c["commune_code"]) if c.get("commune_code") else f"ward:{c['ward']}"


def _province_key(c: dict) -> str:
    return str(c["province_code"]) if c.get("province_code") else "none"


def _place_names(c: dict, no_province: str) -> tuple[str, str]:
    """The center's commune and province as official (their codes), else its ward as typed."""
    commune = hierarchy.communes().get(c["commune_code"]) if c.get("commune_code") else None
    province = hierarchy.provinces().get(c["province_code"]) if c.get("province_code") else None
    return (commune.name if commune else c["ward"]), (province or no_province)


def _by_place(e: dict) -> tuple[str, str]:
    return e["province"], e["name"]


def assemble(rows: list[dict], now: dict[str, dict], before: dict[str, dict], month: Month,
             no_province: str = "Chưa gắn tỉnh") -> dict[str, Any]:  # fmt: skip
    """The report from the centers in scope and each one's sums for the month and the one before."""
    centers_out, communes, provinces = [], {}, {}
    for c in rows:
        commune, province = _place_names(c, no_province)
        centers_out.append(entry(now[c["id"]], before[c["id"]], id=c["id"], name=c["name"], site=c["site"],
                                 commune=commune, province=province))  # fmt: skip
        communes.setdefault(_commune_key(c), {"name": commune, "province": province, "ids": []})["ids"].append(c["id"])
        provinces.setdefault(_province_key(c), {"name": province, "ids": []})["ids"].append(c["id"])

    def rolled(key: str, group: dict, **place: Any) -> dict[str, Any]:
        ids = group["ids"]
        return entry(combine(now[i] for i in ids), combine(before[i] for i in ids), key=key, name=group["name"],
                     sites=len(ids), **place)  # fmt: skip

    ids = [c["id"] for c in rows]
    return {
        "month": month.key,
        "previous": month.previous().key,
        "from": month.first,
        "to": month.last,
        "total": entry(combine(now[i] for i in ids), combine(before[i] for i in ids), sites=len(ids)),
        "provinces": sorted((rolled(k, g) for k, g in provinces.items()), key=lambda e: e["name"]),
        "communes": sorted((rolled(k, g, province=g["province"]) for k, g in communes.items()), key=_by_place),
        "centers": centers_out,
    }


def scoped(rows: list[dict], center: str | None = None, commune: int | None = None,
           province: int | None = None) -> list[dict]:  # fmt: skip
    """The visible centers the report is about: one center, one commune's sites, one province's,
    or those that are all of what is given."""
    return [c for c in rows if (center is None or c["id"] == center)
            and (commune is None or c.get("commune_code") == commune)
            and (province is None or c.get("province_code") == province)]  # fmt: skip


def report(conn: Connection, rows: list[dict], month: Month, settings: Settings,
           no_province: str = "Chưa gắn tỉnh") -> dict[str, Any]:  # fmt: skip
    """The month's report for these (visible, scoped) centers, with the thresholds it used."""
    ids = [c["id"] for c in rows]
    now = month_sums(conn, ids, month, settings)
    before = month_sums(conn, ids, month.previous(), settings)
    return assemble(rows, now, before, month, no_province) | {
        "threshold_p90_min": settings.wait_p90_min,
        "service_thresholds": dict(settings.service_p90_min),
    }
