"""What the dashboard and the exports show, computed from the synced rows.

Sums add up across hours, days, services and sites; percentiles come from adding the
histograms and reading the quantile off the total (contracts.sync.quantile), never from averaging
percentiles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from contracts.ids import SERVICE_CODE
from contracts.sync import SERVICE_EDGES_MIN, WAIT_EDGES_MIN, quantile

from . import hierarchy, scopes
from .schema import centers, counter_days, hourly, snapshots
from .settings import Settings

ADDITIVE = (
    "issued",
    "priority",
    "called",
    "served",
    "resolved",
    "forwarded",
    "returned",
    "no_show",
    "cancelled",
    "unfinished",
    "rated",
    "wait_sum_s",
    "service_sum_s",
    "rating_sum",
)
HISTS = ("wait_hist", "service_hist", "ratings")


def _empty() -> dict[str, Any]:
    return dict.fromkeys(ADDITIVE, 0) | {"wait_hist": None, "service_hist": None, "ratings": None}


def _add(total: dict[str, Any], row: Any) -> None:
    for name in ADDITIVE:
        total[name] += row.get(name, 0)
    for name in HISTS:
        hist = row.get(name)
        if hist is not None:
            total[name] = list(hist) if total[name] is None else [a + b for a, b in zip(total[name], hist, strict=True)]


def metrics(t: dict[str, Any]) -> dict[str, Any]:
    """The figures people read, from summed rows."""

    def ratio(a: str, b: str, scale: float = 1.0, digits: int = 1):
        return round(t[a] / t[b] * scale, digits) if t.get(b) else None

    return {
        "issued": t["issued"],
        "served": t["served"],
        "resolved": t["resolved"],
        "forwarded": t["forwarded"],
        "returned": t["returned"],
        "no_show": t["no_show"],
        "cancelled": t["cancelled"],
        "unfinished": t["unfinished"],  # still open when its business day ended
        "resolved_pct": ratio("resolved", "served", 100),
        "avg_wait_min": ratio("wait_sum_s", "called", 1 / 60),
        "p90_wait_min": quantile(t["wait_hist"], WAIT_EDGES_MIN, 0.9) if t["wait_hist"] else None,
        "avg_service_min": ratio("service_sum_s", "served", 1 / 60),
        "p90_service_min": quantile(t["service_hist"], SERVICE_EDGES_MIN, 0.9) if t["service_hist"] else None,
        "satisfaction": ratio("rating_sum", "rated", 1, 2),
        "rated": t["rated"],
    }


def over(m: dict[str, Any], threshold: float) -> bool:
    """A breach: the P90 wait above the threshold (no tickets called, no breach)."""
    return m["p90_wait_min"] is not None and m["p90_wait_min"] > threshold


def days_between(day_from: str, day_to: str) -> list[str]:
    first, last = date.fromisoformat(day_from), date.fromisoformat(day_to)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def day_rows(per_day: dict[str, dict], day_from: str, day_to: str, threshold: float) -> list[dict[str, Any]]:
    """Each day of the range in order, a day nothing was synced for as zeros: a trend's dip to 0
    is a day without tickets (a Sunday), not a point left out."""
    rows = []
    for day in days_between(day_from, day_to):
        m = metrics(per_day.get(day) or _empty())
        rows.append({"day": day, **m, "breach": over(m, threshold)})
    return rows


def daily(conn: Connection, ids: list[str], day_from: str, day_to: str, settings: Settings) -> dict[str, Any]:
    """Day by day over the range for these centers (one, or every visible one), and their total."""
    per_day, total = defaultdict(_empty), _empty()
    for r in _hourly(conn, ids, day_from, day_to):
        _add(per_day[r["day"]], r)
        _add(total, r)
    m = metrics(total)
    return {
        "from": day_from,
        "to": day_to,
        "threshold_p90_min": settings.wait_p90_min,
        "days": day_rows(per_day, day_from, day_to, settings.wait_p90_min),
        "total": m | {"breach": over(m, settings.wait_p90_min)},
    }


def visible_centers(conn: Connection, user, focus: scopes.Focus | None = None) -> list[dict[str, Any]]:
    """The centers `user` may see (server/scopes.py decides), within `focus` when given: what
    every page, JSON answer and export lists."""
    query = select(centers).where(scopes.centers_clause(user))
    if focus is not None:
        query = query.where(scopes.focus_clause(focus))
    query = query.order_by(centers.c.ward, centers.c.site != "main", centers.c.name)
    return [dict(r) for r in conn.execute(query).mappings()]


def _hourly(conn: Connection, ids: list[str], day_from: str, day_to: str) -> Iterable[Any]:
    if not ids:
        return []
    return conn.execute(
        select(hourly).where(hourly.c.center_id.in_(ids), hourly.c.day >= day_from, hourly.c.day <= day_to)
    ).mappings()


def _snapshots(conn: Connection, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    rows = conn.execute(select(snapshots).where(snapshots.c.center_id.in_(ids))).mappings()
    return {r["center_id"]: r for r in rows}


def live(snap: Any, now: float, settings: Settings) -> dict[str, Any]:
    """The live part of a center's row, from its latest snapshot."""
    if snap is None:
        return {
            "waiting": None,
            "longest_wait_min": None,
            "counters_open": None,
            "alerts": [],
            "devices": None,
            "sync_age_s": None,
            "stale": True,
        }
    body = snap["body"]
    age = max(0.0, now - snap["received_at"])
    return {
        "waiting": sum(w["count"] for w in body.get("waiting", [])),
        "longest_wait_min": round(
            max((w.get("longest_wait_s", 0) for w in body.get("waiting", [])), default=0) / 60, 1
        ),
        "counters_open": sum(c["status"] == "open" for c in body.get("counters", [])),
        "alerts": body.get("alerts", []),
        "devices": body.get("devices"),
        "sync_age_s": round(age),
        "stale": age > settings.stale_after_s,
    }


def _provinces(rows: list[dict], totals: dict, out: list[dict], settings: Settings) -> list[dict[str, Any]]:
    """The nation's roll-up: each of the 34 provinces (official order) with its centers summed."""
    live_of = {r["id"]: r for r in out}
    members = defaultdict(list)
    for c in rows:
        if c["province_code"] is not None:
            members[c["province_code"]].append(c["id"])
    listed = []
    for code, name in hierarchy.provinces().items():
        total = _empty()
        for i in members[code]:
            _add(total, totals[i])
        m = metrics(total)
        sites = [live_of[i] for i in members[code]]
        listed.append({"code": code, "name": name, "centers": len(sites), **m,
                       "breach": over(m, settings.wait_p90_min), "waiting": sum(r["waiting"] or 0 for r in sites),
                       "stale": any(r["stale"] for r in sites)})  # fmt: skip
    return listed


def overview(conn: Connection, user, day_from: str, day_to: str, now: float, settings: Settings,
             focus: scopes.Focus | None = None) -> dict[str, Any]:  # fmt: skip
    """Every center the user may see within the focus (its whole scope by default), each ward's
    roll-up of its sites, and their total. The nation's focus lists its 34 provinces instead of
    their centers (`provinces`; open one with ?province=CODE); its `centers` are those placed in
    no province (a free-text ward), so that every center is in one list or the other."""
    focus = focus or scopes.own(user)
    rows = visible_centers(conn, user, focus)
    ids = [c["id"] for c in rows]
    totals, per_day = {i: _empty() for i in ids}, defaultdict(_empty)
    for r in _hourly(conn, ids, day_from, day_to):
        _add(totals[r["center_id"]], r)
        _add(per_day[r["day"]], r)
    snaps = _snapshots(conn, ids)
    every, wards = [], defaultdict(list)
    for c in rows:
        row = {"id": c["id"], "name": c["name"], "ward": c["ward"], "site": c["site"]}
        row |= metrics(totals[c["id"]]) | live(snaps.get(c["id"]), now, settings)
        row["breach"] = over(row, settings.wait_p90_min)
        every.append(row)
    nation = focus.level == "nation"
    unplaced = {c["id"] for c in rows if c["province_code"] is None}
    out = [r for r in every if r["id"] in unplaced] if nation else every
    for r in out:
        wards[r["ward"]].append(r["id"])
    rollups = []
    for ward, members in wards.items():
        total = _empty()
        for i in members:
            _add(total, totals[i])
        sites = [r for r in out if r["ward"] == ward]
        rollups.append(
            {
                "ward": ward,
                "sites": len(members),
                **metrics(total),
                "waiting": sum(r["waiting"] or 0 for r in sites),
                "stale": any(r["stale"] for r in sites),
            }
        )
    grand = _empty()
    for i in ids:
        _add(grand, totals[i])
    longest = [r["longest_wait_min"] for r in every if r["longest_wait_min"] is not None]
    total = {"centers": len(every), **metrics(grand), "waiting": sum(r["waiting"] or 0 for r in every),
             "longest_wait_min": max(longest, default=None),
             "counters_open": sum(r["counters_open"] or 0 for r in every),
             "alerts": sum(len(r["alerts"]) for r in every)}  # fmt: skip
    total["breach"] = over(total, settings.wait_p90_min)
    scope = focus.as_json() | ({"name": rows[0]["name"]} if focus.level == "center" and rows else {})
    return {
        "scope": scope,
        "centers": out,
        "provinces": _provinces(rows, totals, every, settings) if nation else None,
        "days": day_rows(per_day, day_from, day_to, settings.wait_p90_min),  # the scope's trend
        "wards": rollups,
        "total": total,  # every center in the focus: the nation's, province's, commune's row
        "from": day_from,
        "to": day_to,
        "threshold_p90_min": settings.wait_p90_min,
    }


def center_report(
    conn: Connection, center: dict, day_from: str, day_to: str, now: float, settings: Settings
) -> dict[str, Any]:
    """One center: by hour, by service, by counter, and live."""
    by_hour = defaultdict(_empty)
    by_service = defaultdict(_empty)
    for r in _hourly(conn, [center["id"]], day_from, day_to):
        _add(by_hour[r["hour"]], r)
        _add(by_service[r["service"]], r)
    by_counter = defaultdict(_empty)
    for r in conn.execute(
        select(counter_days).where(
            counter_days.c.center_id == center["id"], counter_days.c.day >= day_from, counter_days.c.day <= day_to
        )
    ).mappings():
        _add(by_counter[r["counter"]], r)
    snap = _snapshots(conn, [center["id"]]).get(center["id"])
    body = snap["body"] if snap else {}
    names = {w["service"]: w.get("name", w["service"]) for w in body.get("waiting", [])}
    services = []
    for code in sorted(by_service):
        m = metrics(by_service[code])
        threshold = settings.threshold(code)
        services.append(
            {
                "service": code,
                "name": names.get(code, code),
                **m,
                "threshold_p90_min": threshold,
                "breach": over(m, threshold),
            }
        )
    now_serving = {c["counter"]: c for c in body.get("counters", [])}
    counters_out = [
        {
            "counter": n,
            **metrics(by_counter[n]),
            "status": now_serving.get(n, {}).get("status"),
            "ticket": now_serving.get(n, {}).get("ticket"),
        }
        for n in sorted(set(by_counter) | set(now_serving))
    ]
    hours = [{"hour": h, **metrics(by_hour[h])} for h in range(24) if by_hour[h]["issued"]]
    return {
        "center": center,
        "from": day_from,
        "to": day_to,
        "hours": hours,
        "services": services,
        "counters": counters_out,
        "live": live(snap, now, settings) | {"queue": body.get("waiting", [])},
    }


# What a service_group key looks like: the code, or the code, " · " and the name (no control character).
SERVICE_KEY = re.compile(r"[A-Z]( · [^\x00-\x1f\x7f]{1,200})?")


def service_group(code: str, name: str | None) -> tuple[str, str]:
    """Which centers' services count as one service on the compare page: (key, label).

    The one place that says it. Until the national service catalog, the code and the name the
    center sends (its snapshot's queues): A "Chứng thực" at one center and A "Hộ tịch" at another
    are two services. A code no snapshot names (a center not synced since) keeps the code alone."""
    if not name or name == code:
        return code, code
    return f"{code} · {name}", f"{code} · {name}"


def _service_names(snaps: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each center's service names by code, from its latest snapshot."""
    return {cid: {w["service"]: w.get("name", "") for w in s["body"].get("waiting", [])} for cid, s in snaps.items()}


def comparison(conn: Connection, user, service: str | None, day_from: str, day_to: str, settings: Settings,
               focus: scopes.Focus | None = None) -> dict[str, Any]:  # fmt: skip
    """Like for like: every visible center that has one service, over the same days.

    `service` is a key from `services` (`service_group`), a bare code (an old link: the first
    service with it; none: no rows), or None (the first service). `rows` is None when it is a key
    no visible center has."""
    rows = visible_centers(conn, user, focus)
    names = _service_names(_snapshots(conn, [c["id"] for c in rows]))
    groups: dict[str, dict[str, Any]] = {}

    def group(cid: str, code: str) -> str:
        key, label = service_group(code, names.get(cid, {}).get(code))
        groups.setdefault(key, {"key": key, "code": code, "label": label, "centers": set()})["centers"].add(cid)
        return key

    for cid, codes in names.items():
        for code in codes:
            group(cid, code)
    totals = defaultdict(_empty)
    for r in _hourly(conn, [c["id"] for c in rows], day_from, day_to):
        _add(totals[(r["center_id"], group(r["center_id"], r["service"]))], r)
    listed = sorted(groups.values(), key=lambda g: (g["code"], g["label"]))
    if service is None:
        service = listed[0]["key"] if listed else "A"
    elif service not in groups and SERVICE_CODE.fullmatch(service):
        service = next((g["key"] for g in listed if g["code"] == service), service)
    chosen = groups.get(service)
    threshold = settings.threshold(chosen["code"] if chosen else service)
    out = None
    if chosen or SERVICE_CODE.fullmatch(service):
        out = []
        for c in rows:
            if chosen and c["id"] in chosen["centers"]:
                m = metrics(totals[(c["id"], service)])
                out.append({"id": c["id"], "name": c["name"], "ward": c["ward"], "site": c["site"], **m,
                            "breach": over(m, threshold)})  # fmt: skip
    return {
        "services": [{"key": g["key"], "label": g["label"], "centers": len(g["centers"])} for g in listed],
        "service": service,
        "threshold_p90_min": threshold,
        "rows": out,
    }


def _bins(edges: tuple[int, ...]) -> list[str]:
    """A histogram's bins as column names: wait_le_1, wait_le_2 … wait_gt_240 (minutes)."""
    return [f"wait_le_{e}" for e in edges] + [f"wait_gt_{edges[-1]}"]


WAIT_BINS = _bins(WAIT_EDGES_MIN)
# One line per center, day, hour and service: the counts and sums that add up (so a sheet can
# re-aggregate any way: wait_sum_s / called is an average wait, the wait bins summed give a P90,
# contracts.sync.quantile), then the figures read off them for that line alone.
EXPORT_PLACE = ("center_id", "center", "ward", "site", "day", "hour", "service", "service_name")
EXPORT_COUNTS = ("issued", "priority", "called", "served", "resolved", "forwarded", "returned", "no_show", "cancelled",
                 "unfinished", "wait_sum_s", "service_sum_s", "rated", "rating_sum")  # fmt: skip
EXPORT_FIGURES = ("avg_wait_min", "p90_wait_min", "avg_service_min", "satisfaction")
EXPORT_COLUMNS = (*EXPORT_PLACE, *EXPORT_COUNTS, *WAIT_BINS, *EXPORT_FIGURES)


def export_rows(conn: Connection, user, day_from: str, day_to: str,
                focus: scopes.Focus | None = None) -> list[list[Any]]:  # fmt: skip
    """One line per center, day, hour and service (EXPORT_COLUMNS), for CSV and Excel."""
    rows = {c["id"]: c for c in visible_centers(conn, user, focus)}
    names = _service_names(_snapshots(conn, list(rows)))
    lines = []
    for r in _hourly(conn, list(rows), day_from, day_to):
        t = _empty()
        _add(t, r)
        m = metrics(t)
        c = rows[r["center_id"]]
        name = names.get(c["id"], {}).get(r["service"], "")
        hist = t["wait_hist"] or [0] * len(WAIT_BINS)
        lines.append([c["id"], c["name"], c["ward"], c["site"], r["day"], r["hour"], r["service"], name,
                      *(t[k] for k in EXPORT_COUNTS), *hist, *(m[k] for k in EXPORT_FIGURES)])  # fmt: skip
    return sorted(lines, key=lambda line: (line[2], line[3] != "main", line[1], line[4], line[5], line[6]))
