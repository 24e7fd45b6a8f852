"""What the dashboard and the exports show, computed from the synced rows.

Sums add up across hours, days, services and sites; percentiles come from adding the
histograms and reading the quantile off the total (contracts.sync.quantile), never from averaging
percentiles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from contracts.sync import SERVICE_EDGES_MIN, WAIT_EDGES_MIN, quantile

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


def visible_centers(conn: Connection, user) -> list[dict[str, Any]]:
    query = select(centers).order_by(centers.c.ward, centers.c.site != "main", centers.c.name)
    if user.role != "admin":
        query = query.where(centers.c.id == user.center_id)
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


def overview(conn: Connection, user, day_from: str, day_to: str, now: float, settings: Settings) -> dict[str, Any]:
    """Every center the user may see, each ward's roll-up of its sites, and their total."""
    rows = visible_centers(conn, user)
    ids = [c["id"] for c in rows]
    totals = {i: _empty() for i in ids}
    for r in _hourly(conn, ids, day_from, day_to):
        _add(totals[r["center_id"]], r)
    snaps = _snapshots(conn, ids)
    out, wards = [], defaultdict(list)
    for c in rows:
        row = {"id": c["id"], "name": c["name"], "ward": c["ward"], "site": c["site"]}
        row |= metrics(totals[c["id"]]) | live(snaps.get(c["id"]), now, settings)
        row["breach"] = row["p90_wait_min"] is not None and row["p90_wait_min"] > settings.wait_p90_min
        out.append(row)
        wards[c["ward"]].append(c["id"])
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
    longest = [r["longest_wait_min"] for r in out if r["longest_wait_min"] is not None]
    total = {"centers": len(out), **metrics(grand), "waiting": sum(r["waiting"] or 0 for r in out),
             "longest_wait_min": max(longest, default=None), "counters_open": sum(r["counters_open"] or 0 for r in out),
             "alerts": sum(len(r["alerts"]) for r in out)}  # fmt: skip
    total["breach"] = total["p90_wait_min"] is not None and total["p90_wait_min"] > settings.wait_p90_min
    return {
        "centers": out,
        "wards": rollups,
        "total": total,  # every center the user may see: the province's row
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
                "breach": m["p90_wait_min"] is not None and m["p90_wait_min"] > threshold,
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


def comparison(conn: Connection, user, service: str, day_from: str, day_to: str, settings: Settings) -> list[dict]:
    """Like for like: every visible center on one service over the same days."""
    rows = visible_centers(conn, user)
    totals = {c["id"]: _empty() for c in rows}
    for r in _hourly(conn, list(totals), day_from, day_to):
        if r["service"] == service:
            _add(totals[r["center_id"]], r)
    out = []
    for c in rows:
        m = metrics(totals[c["id"]])
        out.append(
            {
                "id": c["id"],
                "name": c["name"],
                "ward": c["ward"],
                **m,
                "breach": m["p90_wait_min"] is not None and m["p90_wait_min"] > settings.threshold(service),
            }
        )
    return out


EXPORT_COLUMNS = (
    "center",
    "ward",
    "day",
    "hour",
    "service",
    "issued",
    "served",
    "resolved",
    "forwarded",
    "returned",
    "no_show",
    "cancelled",
    "unfinished",
    "avg_wait_min",
    "p90_wait_min",
    "avg_service_min",
    "satisfaction",
)


def export_rows(conn: Connection, user, day_from: str, day_to: str) -> list[list[Any]]:
    """One line per center, day, hour and service, for CSV and Excel."""
    rows = {c["id"]: c for c in visible_centers(conn, user)}
    lines = []
    for r in _hourly(conn, list(rows), day_from, day_to):
        t = _empty()
        _add(t, r)
        m = metrics(t)
        c = rows[r["center_id"]]
        lines.append([c["name"], c["ward"], r["day"], r["hour"], r["service"], *(m[k] for k in EXPORT_COLUMNS[5:])])
    return sorted(lines, key=lambda line: (line[1], line[0], line[2], line[3], line[4]))
