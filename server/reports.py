"""What the dashboard and the exports show, computed from the synced rows.

Sums add up across hours, days, services and sites; percentiles come from adding the
histograms and reading the quantile off the total (contracts.sync.quantile), never from averaging
percentiles. Every range is read from the day rows (`daily`, kept at ingest: server/rollups.py),
added up by the database; hourly rows only for the center page's hour axis, over at most the
range's last HOUR_AXIS_DAYS days, and for the hour-by-hour export over at most as many.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ARRAY, Connection, String, any_, bindparam, cast, func, select

from contracts.catalog import FIELD_CODE
from contracts.sync import SERVICE_EDGES_MIN, WAIT_EDGES_MIN, quantile

from . import hierarchy, scopes
from .schema import BINS, ROLLUP_NUMBERS, centers, counter_days, hourly, snapshots
from .schema import daily as day_table
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
    for r in summed(conn, ids, day_from, day_to, ("day",)):
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


HOUR_AXIS_DAYS = 31  # the longest range an hour axis (and the hour-by-hour export) is read from hourly rows


def hour_axis_from(day_from: str, day_to: str) -> str:
    """The first day the hour axis covers: the range's last HOUR_AXIS_DAYS days at most."""
    return max(day_from, (date.fromisoformat(day_to) - timedelta(days=HOUR_AXIS_DAYS - 1)).isoformat())


def _unflat(row: Any) -> dict[str, Any]:
    """A summed day row as the hourly rows' shape (histograms as lists) that `_add` takes."""
    out = {k: row[k] for k in row if k not in ROLLUP_NUMBERS}
    out |= {k: int(row[k]) for k in ADDITIVE}
    return out | {name: [int(row[c]) for c in columns] for name, columns in BINS.items()}


def summed(conn: Connection, ids: list[str], day_from: str, day_to: str, by: tuple[str, ...]) -> list[dict[str, Any]]:
    """The day rows of these centers over the range, added up by the database per `by` (columns
    of `daily`: center_id, day, service)."""
    if not ids:
        return []
    keys = [day_table.c[k] for k in by]
    sums = [func.sum(day_table.c[n]).label(n) for n in ROLLUP_NUMBERS]
    where = (_among(conn, day_table.c.center_id, ids), day_table.c.day >= day_from, day_table.c.day <= day_to)
    return [_unflat(r) for r in conn.execute(select(*keys, *sums).where(*where).group_by(*keys)).mappings()]


def _among(conn: Connection, column, ids: list[str]):
    """`column` is one of `ids`: on PostgreSQL one array parameter (the country's 3,321 ids as as
    many parameters cost more to send and plan than the sums over a day)."""
    if conn.dialect.name == "postgresql":
        return column == any_(cast(bindparam("ids", ids, type_=ARRAY(String)), ARRAY(String)))
    return column.in_(ids)


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
    for r in summed(conn, ids, day_from, day_to, ("center_id",)):
        _add(totals[r["center_id"]], r)
    for r in summed(conn, ids, day_from, day_to, ("day",)):
        _add(per_day[r["day"]], r)
    snaps = _snapshots(conn, ids)
    every, wards, rows_of = [], defaultdict(list), defaultdict(list)
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
        rows_of[r["ward"]].append(r)  # by ward once: 3,321 centers would be 3,321² look-ups
    rollups = []
    for ward, members in wards.items():
        total = _empty()
        for i in members:
            _add(total, totals[i])
        sites = rows_of[ward]
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
    hours_from = hour_axis_from(day_from, day_to)
    for r in _hourly(conn, [center["id"]], hours_from, day_to):
        _add(by_hour[r["hour"]], r)
    for r in summed(conn, [center["id"]], day_from, day_to, ("service",)):
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
        "hours_from": hours_from,  # the hour axis: the range's last HOUR_AXIS_DAYS days at most
        "hours": hours,
        "services": services,
        "counters": counters_out,
        "live": live(snap, now, settings) | {"queue": body.get("waiting", [])},
    }


# What a compare key looks like: a code of the service catalog (contracts/catalog.py).
SERVICE_KEY = FIELD_CODE


def service_group(field: str, settings: Settings) -> tuple[str, str]:
    """Which centers' services count as one on the compare page, and how it is named: (key, label).

    The one place that says it: the field of the service catalog each bucket carries (its center's
    config maps each letter to one), never the letter, which each center chooses for itself."""
    return field, settings.field_name(field)


def comparison(conn: Connection, user, service: str | None, day_from: str, day_to: str, settings: Settings,
               focus: scopes.Focus | None = None) -> dict[str, Any]:  # fmt: skip
    """Like for like: every visible center that has one field of the service catalog, over the same days.

    `service` is a catalog code, or None (the first field any visible center has, in the catalog's
    order). `rows` is None when no visible center has it."""
    rows = visible_centers(conn, user, focus)
    groups: dict[str, dict[str, Any]] = {}
    totals = defaultdict(_empty)
    for r in summed(conn, [c["id"] for c in rows], day_from, day_to, ("center_id", "field")):
        key, label = service_group(r["field"], settings)
        group = groups.setdefault(key, {"key": key, "code": key, "label": label, "centers": set()})
        group["centers"].add(r["center_id"])
        _add(totals[(r["center_id"], key)], r)
    order = list(settings.catalog)
    place = {code: i for i, code in enumerate(order)}
    listed = sorted(groups.values(), key=lambda g: (place.get(g["key"], len(order)), g["key"]))
    if service is None:
        service = listed[0]["key"] if listed else next(iter(settings.catalog))
    chosen = groups.get(service)
    threshold = settings.threshold(service)
    out = None
    if chosen or service in settings.catalog:
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
# One line per center, day, hour and service over a short range (at most HOUR_AXIS_DAYS days), per
# center, day and service (the hour blank) up to DAY_LINES_DAYS, else per center, month
# ("2026-11" in the day column) and service: the counts and sums that add up (so a sheet can
# re-aggregate any way: wait_sum_s / called is an average wait, the wait bins summed give a P90,
# contracts.sync.quantile), then the figures read off them for that line alone. A province's year
# hour by hour would be millions of lines, more than a sheet holds.
DAY_LINES_DAYS = 92
EXPORT_PLACE = ("center_id", "center", "ward", "site", "day", "hour", "service", "service_name", "field", "field_name")
EXPORT_COUNTS = ("issued", "priority", "called", "served", "resolved", "forwarded", "returned", "no_show", "cancelled",
                 "unfinished", "wait_sum_s", "service_sum_s", "rated", "rating_sum")  # fmt: skip
EXPORT_FIGURES = ("avg_wait_min", "p90_wait_min", "avg_service_min", "satisfaction")
EXPORT_COLUMNS = (*EXPORT_PLACE, *EXPORT_COUNTS, *WAIT_BINS, *EXPORT_FIGURES)


def export_grain(day_from: str, day_to: str) -> str:
    """An export's line: "hour", "day" or "month", by the range's length (see DAY_LINES_DAYS)."""
    days = len(days_between(day_from, day_to))
    return "hour" if days <= HOUR_AXIS_DAYS else "day" if days <= DAY_LINES_DAYS else "month"


def _export_sums(conn: Connection, ids: list[str], day_from: str, day_to: str) -> Iterable[Any]:
    """The export's lines before their figures: hourly rows, or day rows added up per day or month."""
    grain = export_grain(day_from, day_to)
    if grain == "hour":
        return _hourly(conn, ids, day_from, day_to)
    if grain == "day":
        return [
            {"hour": None, **r} for r in summed(conn, ids, day_from, day_to, ("center_id", "day", "service", "field"))
        ]
    month = func.substr(day_table.c.day, 1, 7).label("day")
    sums = [func.sum(day_table.c[n]).label(n) for n in ROLLUP_NUMBERS]
    where = (_among(conn, day_table.c.center_id, ids), day_table.c.day >= day_from, day_table.c.day <= day_to)
    keys = (day_table.c.center_id, month, day_table.c.service, day_table.c.field)
    rows = conn.execute(select(*keys, *sums).where(*where).group_by(*keys)).mappings() if ids else []
    return [{"hour": None, **_unflat(r)} for r in rows]


def export_rows(conn: Connection, user, day_from: str, day_to: str, settings: Settings,
                focus: scopes.Focus | None = None) -> list[list[Any]]:  # fmt: skip
    """The export's lines (EXPORT_COLUMNS), for CSV and Excel: per center, hour, day or month (by
    `export_grain`) and service."""
    rows = {c["id"]: c for c in visible_centers(conn, user, focus)}
    names = {
        cid: {w["service"]: w.get("name", "") for w in s["body"].get("waiting", [])}
        for cid, s in _snapshots(conn, list(rows)).items()
    }  # each center's own name of its letter
    lines = []
    for r in _export_sums(conn, list(rows), day_from, day_to):
        t = _empty()
        _add(t, r)
        m = metrics(t)
        c = rows[r["center_id"]]
        name = names.get(c["id"], {}).get(r["service"], "")
        hist = t["wait_hist"] or [0] * len(WAIT_BINS)
        lines.append([c["id"], c["name"], c["ward"], c["site"], r["day"], r["hour"], r["service"], name, r["field"],
                      settings.field_name(r["field"]), *(t[k] for k in EXPORT_COUNTS), *hist,
                      *(m[k] for k in EXPORT_FIGURES)])  # fmt: skip
    return sorted(lines, key=lambda line: (line[2], line[3] != "main", line[1], line[4], line[5] or 0, line[6]))
