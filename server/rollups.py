"""The daily roll-ups: the hourly buckets' sums by center, day and service (`schema.daily`), kept
in the same transaction as the hourly rows they add up, so that no page or export sums hourly
rows over a long range.

A bucket is a whole value that a newer seq replaces: its day's row changes by the difference
between the new value and the one it replaces (by the whole value for a new bucket), and a
purge subtracts the rows it deletes. So a day's row always equals the sum of its hours
(tests/server/test_rollups.py checks it on both databases). Histograms are kept bin by bin, so
the database adds them up and a P90 is read off the sums.

SQLite writes one batch at a time: the rows a batch replaces are read first, in Python. On
PostgreSQL the whole batch is one statement (ingest.py); `postgres_ctes` is its roll-up part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from contracts.sync import COUNTS, SUMS

from .schema import BINS, ROLLUP_NUMBERS, daily, hourly

SCALARS = (*COUNTS, *SUMS)
Deltas = dict[tuple[str, str], dict[str, int]]  # (day, service): column: change


def flat(row: Mapping[str, Any]) -> dict[str, int]:
    """A bucket's numbers as the roll-up's columns, its histograms bin by bin."""
    out = {name: row[name] for name in SCALARS}
    for name, columns in BINS.items():
        out.update(zip(columns, row[name], strict=True))
    return out


def difference(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> dict[str, int]:
    """What replacing `old` (None: no bucket yet) by `new` changes in their day's sums."""
    values = flat(new)
    if old is None:
        return values
    before = flat(old)
    return {k: v - before[k] for k, v in values.items()}


def by_day(changes: Iterable[tuple[Mapping[str, Any], dict[str, int]]]) -> Deltas:
    """Changes of single buckets added up per (day, service), with the field of the service catalog
    the buckets carry (a day row takes its latest bucket's: a center maps a letter to one field)."""
    out: Deltas = defaultdict(lambda: dict.fromkeys(ROLLUP_NUMBERS, 0))
    fields: dict[tuple[str, str], str] = {}
    for row, change in changes:
        total = out[(row["day"], row["service"])]
        fields[(row["day"], row["service"])] = row.get("field") or "khac"
        for k, v in change.items():
            total[k] += v
    return {key: {**values, "field": fields[key]} for key, values in out.items()}


def replaced(old: Mapping[tuple, Mapping[str, Any]], rows: list[dict[str, Any]], seq: int) -> Deltas:
    """The changes of a batch at `seq` whose buckets meet the stored ones `old` (by day, hour,
    service): a bucket replaces only a stored one from a lower seq (ingest.py)."""
    changes = []
    for row in rows:
        before = old.get((row["day"], row["hour"], row["service"]))
        if before is None or before["seq"] < seq:
            changes.append((row, difference(row, before)))
    return by_day(changes)


def removed(rows: Iterable[Mapping[str, Any]]) -> Deltas:
    """The changes of deleting these hourly rows (server/purge.py)."""
    return by_day((row, {k: -v for k, v in flat(row).items()}) for row in rows)


@lru_cache(maxsize=2)
def _add_statement(dialect: str):
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(daily)
    return stmt.on_conflict_do_update(
        index_elements=list(daily.primary_key.columns),
        set_={"field": stmt.excluded.field} | {name: daily.c[name] + stmt.excluded[name] for name in ROLLUP_NUMBERS},
    )


def add(conn: Connection, center: str, deltas: Deltas) -> None:
    """Add `deltas` to the center's day rows (a row not there yet starts at 0)."""
    if deltas:
        rows = [{"center_id": center, "day": d, "service": s, **v} for (d, s), v in deltas.items()]
        conn.execute(_add_statement(conn.dialect.name), rows)


def stored(conn: Connection, center: str, rows: list[dict[str, Any]]) -> dict[tuple, Mapping[str, Any]]:
    """The stored hourly rows a batch's buckets meet, by (day, hour, service)."""
    keys = [(r["day"], r["hour"], r["service"]) for r in rows]
    where = (hourly.c.center_id == center, tuple_(hourly.c.day, hourly.c.hour, hourly.c.service).in_(keys))
    found = conn.execute(select(hourly).where(*where)).mappings()
    return {(r["day"], r["hour"], r["service"]): r for r in found}


def _bin(table: str, name: str, i: int) -> str:
    return f"CAST({table}.{name} ->> {i} AS bigint)"


def _values(table: str) -> list[str]:
    return [f"{table}.{n}" for n in SCALARS] + [_bin(table, n, i) for n, cols in BINS.items() for i in range(len(cols))]


def postgres_ctes(batch_keys: str) -> tuple[str, str]:
    """The roll-up's part of ingest's one PostgreSQL statement, as (old, add): `o`, the stored
    hourly rows the batch meets, as they were before the statement (every part of it reads the
    same snapshot, so `o` does not see what the hourly upsert `h` writes), and `d`, which adds
    new minus old per (day, service) for the rows `h` changed. A center's batches take turns
    (LOCK, a statement of its own before this one, so that its snapshot shows what the batch
    before wrote); purge.py takes the same lock."""
    old = (f"o AS (SELECT hourly.* FROM hourly JOIN json_to_recordset(CAST(:{batch_keys} AS json)) "
           "AS k(day text, hour integer, service text) ON hourly.day = k.day AND hourly.hour = k.hour "
           "AND hourly.service = k.service WHERE hourly.center_id = CAST(:center AS varchar))")  # fmt: skip
    names = ", ".join(ROLLUP_NUMBERS)
    sums = ", ".join(f"sum({new} - COALESCE({old}, 0))" for new, old in zip(_values("h"), _values("o"), strict=True))
    sets = ", ".join(["field = excluded.field", *(f"{n} = daily.{n} + excluded.{n}" for n in ROLLUP_NUMBERS)])
    add_sql = (f"d AS (INSERT INTO daily (center_id, day, service, field, {names}) "
               f"SELECT CAST(:center AS varchar), h.day, h.service, max(h.field), {sums} FROM h LEFT JOIN o "
               "ON o.day = h.day AND o.hour = h.hour AND o.service = h.service GROUP BY h.day, h.service "
               f"ON CONFLICT (center_id, day, service) DO UPDATE SET {sets})")  # fmt: skip
    return old, add_sql


# One center's writes of hourly rows, one transaction at a time (PostgreSQL; SQLite has one writer).
LOCK = "SELECT pg_advisory_xact_lock(4202, hashtext(CAST(%s AS text)))"


def lock(conn: Connection, center: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(LOCK, (center,))
