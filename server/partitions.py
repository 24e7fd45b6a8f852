"""How long hourly rows are kept, and on PostgreSQL their monthly partitions.

The day rows (`daily`, server/rollups.py) are kept for ever: every page and export over a long
range reads them. Hourly rows serve the hour axis and the hour-by-hour export of a short range,
and they are what a newer bucket is compared with at ingest (the day row changes by the
difference), so they are kept longer than a gateway may still send a bucket for: DAYS_PAST
(contracts/sync.py), about 13 months. KEEP_MONTHS is 25: two years back and the current month.

On PostgreSQL `hourly` is partitioned by month (migration step 12): hourly_2026_11 holds
2026-11-01 … 2026-11-30, and hourly_default anything outside the months made so far. Dropping a
month is dropping its table, not deleting millions of rows. `hangcho-server prune` (daily) makes
the coming AHEAD_MONTHS months and drops those past retention; a month found in the default
partition is moved into its own. SQLite keeps one plain table, from which prune deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from contracts.sync import DAYS_PAST

KEEP_MONTHS = 25
AHEAD_MONTHS = 3
MIN_KEEP_MONTHS = DAYS_PAST // 28 + 2  # never drop a month a gateway may still send a bucket for
DEFAULT = "hourly_default"


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    at = month.year * 12 + month.month - 1 + n
    return date(at // 12, at % 12 + 1, 1)


def name(month: date) -> str:
    return f"hourly_{month:%Y_%m}"


def span(first: date, last: date) -> list[date]:
    """The months from `first`'s to `last`'s, both included."""
    out, at = [], month_of(first)
    while at <= last:
        out.append(at)
        at = add_months(at, 1)
    return out


@dataclass(frozen=True)
class Plan:
    """What prune does to the months on `today`: hourly rows before `keep_from` go."""

    keep_from: date
    make: list[date]  # the months that must exist: those kept and the coming ones


def plan(today: date, keep_months: int = KEEP_MONTHS) -> Plan:
    this = month_of(today)
    keep_from = add_months(this, -(keep_months - 1))
    return Plan(keep_from, span(keep_from, add_months(this, AHEAD_MONTHS)))


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('hourly')")).scalar_one_or_none()
    return kind == "p"


def months(conn: Connection) -> dict[date, str]:
    """The month partitions there are, by their first day."""
    rows = conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                             "WHERE i.inhparent = to_regclass('hourly')")).scalars()  # fmt: skip
    out = {}
    for relname in rows:
        if relname != DEFAULT:
            year, month = relname.removeprefix("hourly_").split("_")
            out[date(int(year), int(month), 1)] = relname
    return out


def make_month(conn: Connection, month: date) -> None:
    """The month's partition; its rows in the default partition, if any, moved into it."""
    bounds = {"a": month.isoformat(), "b": add_months(month, 1).isoformat()}
    table, values = name(month), f"FROM ('{bounds['a']}') TO ('{bounds['b']}')"
    stray = text(f"SELECT EXISTS (SELECT FROM {DEFAULT} WHERE day >= :a AND day < :b)")
    if not conn.execute(stray, bounds).scalar_one():
        conn.execute(text(f"CREATE TABLE {table} PARTITION OF hourly FOR VALUES {values} WITH (fillfactor = 70)"))
        return
    conn.execute(text(f"CREATE TABLE {table} (LIKE hourly INCLUDING DEFAULTS) WITH (fillfactor = 70)"))
    conn.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE day >= :a AND day < :b RETURNING *) "
                      f"INSERT INTO {table} SELECT * FROM moved"), bounds)  # fmt: skip
    conn.execute(text(f"ALTER TABLE hourly ATTACH PARTITION {table} FOR VALUES {values}"))


@dataclass(frozen=True)
class Pruned:
    made: list[str]
    dropped: list[str]
    deleted: int  # hourly rows deleted one by one (SQLite; PostgreSQL's default partition)


def prune_hourly(conn: Connection, today: date, keep_months: int = KEEP_MONTHS) -> Pruned:
    """Keep hourly rows `keep_months` months (this one included); make the coming months'
    partitions. The day rows stay."""
    if keep_months < MIN_KEEP_MONTHS:
        raise ValueError(f"hourly rows must be kept at least {MIN_KEEP_MONTHS} months: a bucket may be "
                         f"{DAYS_PAST} days late: its day changes by the difference from its hourly row")  # fmt: skip
    p = plan(today, keep_months)
    cutoff = {"cutoff": p.keep_from.isoformat()}
    if not is_partitioned(conn):
        return Pruned([], [], conn.execute(text("DELETE FROM hourly WHERE day < :cutoff"), cutoff).rowcount)
    there = months(conn)
    made = []
    for month in p.make:
        if month not in there:
            make_month(conn, month)
            made.append(name(month))
    dropped = [table for month, table in sorted(there.items()) if month < p.keep_from]
    for table in dropped:
        conn.execute(text(f"DROP TABLE {table}"))
    deleted = conn.execute(text(f"DELETE FROM {DEFAULT} WHERE day < :cutoff"), cutoff).rowcount
    return Pruned(made, dropped, deleted)
