"""Taking a gateway's batch into the database: idempotent by (center, seq), per-bucket newest-wins.

The batch is recorded by its sequence number and the digest of its buckets first (the snapshot
riding along may differ between retries). A replay of the same seq with the same digest is a
duplicate: answered as accepted, nothing written. A seq is taken only above the center's
high-water mark (its highest seq, which `prune` never forgets) and at most SEQ_WINDOW above it;
any other (the same seq with a different body, a gateway that lost its `sync.db` and starts
again at 1, one far ahead) is a conflict, refused with the next seq so the gateway renumbers
and its whole values replace the old ones. Each bucket replaces the stored one only if it comes
from a higher seq, so no batch can roll a value back.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from psycopg import RawCursor
from sqlalchemy import JSON, Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from contracts.sync import BUCKET_FIELDS, COUNTER_FIELDS, SEQ_WINDOW

from . import rollups
from .schema import batches, counter_days, hourly, snapshots

_KEYS = ("center_id", "day", "hour", "service", "counter")
_WRITER = ("gateway_id", "written_at")  # set on every write, from the request


@dataclass(frozen=True)
class Outcome:
    status: str  # "applied", "duplicate" or "conflict"
    applied: int = 0
    next_seq: int | None = None
    reason: str = ""
    resend: bool = False  # the province removed rows: send whole values again (server/purge.py)


# The digest of a mark `purge` leaves as a center's highest batch: no body hashes to it, so the
# gateway's next batch meets it as a conflict and is told to resend its whole journal.
RESEND_DIGEST = "resend"


def resend_reason(first: int) -> str:
    return (
        f"the province removed rows a revoked credential wrote: resend whole values from the journal, from seq {first}"
    )


# A batch's (center, seq) is claimed only above the center's mark and within the window (the
# mark read once, in FROM: in the WHERE, BETWEEN would look it up twice). The casts tell
# PostgreSQL each parameter's type (SQLite reads them as its type affinities).
_TOP = "(SELECT COALESCE(max(seq), 0) AS top FROM sync_batches WHERE center_id = CAST(:center AS varchar)) AS mark"
_SEQ = "CAST(:seq AS integer)"
CLAIM = (
    "INSERT INTO sync_batches (center_id, seq, digest, received_at, buckets, gateway_id) "
    f"SELECT CAST(:center AS varchar), {_SEQ}, CAST(:digest AS varchar), CAST(:now AS double precision), "
    f"CAST(:n AS integer), CAST(:gateway AS varchar) FROM {_TOP} "
    f"WHERE {_SEQ} - mark.top BETWEEN 1 AND CAST(:window AS integer) ON CONFLICT DO NOTHING RETURNING seq"
)


def _upsert(dialect: str, table, set_fields: tuple[str, ...], newer: str):
    """INSERT … ON CONFLICT DO UPDATE of `set_fields` where the incoming `newer` column is greater."""
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={f: stmt.excluded[f] for f in set_fields},
        where=table.c[newer] < stmt.excluded[newer],
    )


@lru_cache(maxsize=4)
def _statements(dialect: str) -> dict[str, Any]:
    """Built once per dialect: building ON CONFLICT statements costs more than running them."""
    return {
        "claim": text(CLAIM),
        "hourly": _upsert(dialect, hourly, ("seq", *_WRITER, *(f for f in BUCKET_FIELDS if f not in _KEYS)), "seq"),
        "counters": _upsert(
            dialect, counter_days, ("seq", *_WRITER, *(f for f in COUNTER_FIELDS if f not in _KEYS)), "seq"
        ),
        "snapshot": _upsert(dialect, snapshots, ("taken_at", "received_at", "body", "gateway_id"), "taken_at"),
    }


def batch_digest(batch: dict[str, Any]) -> str:
    """What a seq stands for: its buckets and counter-days, whatever snapshot rides along."""
    values = orjson.dumps([batch["buckets"], batch["counters"]], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(values).hexdigest()


def _recordset(table, fields: tuple[str, ...]) -> str:
    """`x(day text, hour integer, …)`: how json_to_recordset reads a list of rows."""
    kinds = {f: "json" if isinstance(table.c[f].type, JSON) else "text" if f in ("day", "service", "field")
             else "integer" for f in fields}  # fmt: skip
    return "x(" + ", ".join(f"{f} {kinds[f]}" for f in fields) + ")"


def _rows_cte(name: str, table, fields: tuple[str, ...], rows: str, returning: str = "") -> str:
    """Upsert the checked rows in parameter `rows` (a JSON list, every field there: check_batch
    filled in the defaults), newest seq wins; `returning`: what the rows written give back."""
    keys = [c.name for c in table.primary_key.columns]
    values = [f for f in fields if f not in _KEYS]
    cols = ", ".join(["center_id", "seq", *_WRITER, *fields])
    sets = ", ".join(f"{f} = excluded.{f}" for f in ("seq", *_WRITER, *values))
    return (f"{name} AS (INSERT INTO {table.name} ({cols}) SELECT CAST(:center AS varchar), {_SEQ}, "
            f"CAST(:gateway AS varchar), CAST(:now AS double precision), {', '.join(f'x.{f}' for f in fields)} "
            f"FROM json_to_recordset(CAST(:{rows} AS json)) AS {_recordset(table, fields)} "
            f"WHERE EXISTS (SELECT FROM claim) ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET {sets} WHERE {table.name}.seq < excluded.seq"
            f"{returning and ' RETURNING ' + returning})")  # fmt: skip


# The PostgreSQL statement's parameters, in the order of its $1, $2, …
_PARAMS = ("center", "seq", "digest", "now", "n", "gateway", "window", "buckets", "counters", "snapshot", "taken_at")


@lru_cache(maxsize=1)
def _postgres_batch() -> str:
    """The whole batch in one statement (data-modifying CTEs): one round trip, atomic by itself.
    The checked buckets, counter-days and snapshot go over as JSON parameters, and the rows and
    the snapshot are written only if the batch's (center, seq) was claimed just now. Written with
    PostgreSQL's own placeholders ($1, …, run through psycopg's RawCursor): psycopg sends the text
    as it is, with no placeholders to find in it on every call, and prepares it once per
    connection (its `prepare_threshold`), so PostgreSQL plans it once."""
    old, add = rollups.postgres_ctes("buckets")
    sql = (
        f"WITH claim AS ({CLAIM}), {old}, "
        + _rows_cte("h", hourly, BUCKET_FIELDS, "buckets", returning="*")
        + f", {add}, "
        + _rows_cte("c", counter_days, COUNTER_FIELDS, "counters")
        + ", "
        "s AS (INSERT INTO snapshots (center_id, taken_at, received_at, body, gateway_id) "
        "SELECT CAST(:center AS varchar), CAST(:taken_at AS double precision), CAST(:now AS double precision), "
        "CAST(:snapshot AS json), CAST(:gateway AS varchar) "
        "WHERE CAST(:taken_at AS double precision) IS NOT NULL AND EXISTS (SELECT FROM claim) "
        "ON CONFLICT (center_id) DO UPDATE SET taken_at = excluded.taken_at, received_at = excluded.received_at, "
        "body = excluded.body, gateway_id = excluded.gateway_id WHERE snapshots.taken_at < excluded.taken_at) "
        "SELECT EXISTS (SELECT FROM claim)"
    )
    return re.sub(r"(?<![:\w]):([a-z_]+)\b", lambda m: f"${_PARAMS.index(m[1]) + 1}", sql)


_POSTGRES_LOCK = rollups.LOCK.replace("%s", "$1")


def _ingest_postgres(conn: Connection, batch: dict[str, Any], digest: str, now: float, gateway: str | None) -> bool:
    snapshot = batch["snapshot"]
    params = (batch["center"], batch["seq"], digest, now, len(batch["buckets"]), gateway, SEQ_WINDOW,
              orjson.dumps(batch["buckets"]).decode(), orjson.dumps(batch["counters"]).decode(),
              None if snapshot is None else orjson.dumps(snapshot).decode(),
              None if snapshot is None else snapshot["taken_at"])  # fmt: skip
    # Straight to psycopg: SQLAlchemy's per-execute work cost more than the statement itself. One
    # cursor per database connection, kept with it (SQLAlchemy clears `info` when it replaces one).
    info, driver = conn.connection.info, conn.connection.driver_connection
    cur = info.get("hangcho.sync_cursor")
    if cur is None:
        cur = info["hangcho.sync_cursor"] = RawCursor(driver)
        info["hangcho.lock_cursor"] = RawCursor(driver)
    if not batch["buckets"]:
        return cur.execute(_postgres_batch(), params).fetchone()[0]
    # The center's batches take turns (rollups.LOCK): the lock and the batch sent together, with
    # one Sync after both (a pipeline), are one transaction in one round trip, even on the sync
    # path's autocommit connection; the batch's statement sees what the one before committed.
    with driver.pipeline():
        info["hangcho.lock_cursor"].execute(_POSTGRES_LOCK, (batch["center"],))
        cur.execute(_postgres_batch(), params)
    return cur.fetchone()[0]


def ingest(conn: Connection, batch: dict[str, Any], now: float | None = None, gateway: str | None = None) -> Outcome:
    """Apply a batch, what contracts.sync.check_batch made of the body, sent by the credential
    `gateway` (its id, recorded on every row written). On PostgreSQL one statement, on SQLite a
    few inside the caller's transaction."""
    now = time.time() if now is None else now
    if conn.dialect.name == "postgresql" and batch["seq"] is not None:
        digest = batch_digest(batch)
        if not _ingest_postgres(conn, batch, digest, now, gateway):
            return _seen(conn, batch["center"], batch["seq"], digest)
        return Outcome("applied", len(batch["buckets"]) + len(batch["counters"]))
    statements = _statements(conn.dialect.name)
    center, seq, snapshot = batch["center"], batch["seq"], batch["snapshot"]
    if seq is not None:
        digest = batch_digest(batch)
        claim = {"center": center, "seq": seq, "digest": digest, "now": now, "n": len(batch["buckets"]),
                 "window": SEQ_WINDOW, "gateway": gateway}  # fmt: skip
        if conn.execute(statements["claim"], claim).first() is None:
            return _seen(conn, center, seq, digest)
    applied = 0
    for name in ("hourly", "counters"):
        rows = batch["buckets" if name == "hourly" else "counters"]
        if rows:
            before = rollups.stored(conn, center, rows) if name == "hourly" else {}
            writer = {"center_id": center, "seq": seq, "gateway_id": gateway, "written_at": now}
            conn.execute(statements[name], [{**writer, **row} for row in rows])
            if name == "hourly":
                rollups.add(conn, center, rollups.replaced(before, rows, seq))
            applied += len(rows)
    if snapshot is not None:
        conn.execute(statements["snapshot"], {"center_id": center, "taken_at": snapshot["taken_at"],
                                              "received_at": now, "body": snapshot, "gateway_id": gateway})  # fmt: skip
    return Outcome("applied", applied)


def top_batch(conn: Connection, center: str):
    """The center's highest batch (its mark): a row with seq and digest, or None."""
    return conn.execute(select(batches.c.seq, batches.c.digest).where(batches.c.center_id == center)
                        .order_by(batches.c.seq.desc()).limit(1)).first()  # fmt: skip


def _seen(conn: Connection, center: str, seq: int, digest: str) -> Outcome:
    """A seq the server did not take: the same batch again (a duplicate), or a conflict."""
    known = conn.execute(select(batches.c.digest).where(batches.c.center_id == center, batches.c.seq == seq))
    stored = known.scalar_one_or_none()
    if stored == digest:
        return Outcome("duplicate")
    top_row = top_batch(conn, center)
    top = top_row.seq if top_row else 0
    if top_row is not None and top_row.digest == RESEND_DIGEST:
        return Outcome("conflict", next_seq=top + 1, resend=True, reason=resend_reason(top + 1))
    if stored is not None:
        reason = f"seq {seq} was already used for a different batch"
    elif seq <= top:
        reason = f"seq {seq} is at or below {top}, the last this server took (a gateway that lost its sync.db?)"
    else:
        reason = f"seq {seq} is more than {SEQ_WINDOW:,} ahead of {top}, the last this server took"
    return Outcome("conflict", next_seq=top + 1, reason=reason + f": renumber from {top + 1}")


def prune(conn: Connection, before: float) -> int:
    """Forget batch numbers received before `before`, but never a center's highest: that is its
    high-water mark, which keeps a gateway that starts again at 1 from being taken silently. A
    bucket's own seq still keeps an old batch from overwriting newer values."""
    newest = batches.alias("newest")
    top = select(func.max(newest.c.seq)).where(newest.c.center_id == batches.c.center_id).scalar_subquery()
    return conn.execute(batches.delete().where(batches.c.received_at < before, batches.c.seq < top)).rowcount
