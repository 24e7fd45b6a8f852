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
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from contracts.sync import BUCKET_FIELDS, COUNTER_FIELDS, COUNTER_HISTOGRAMS, HISTOGRAMS, SEQ_WINDOW

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


# A batch's (center, seq) is claimed only above the center's mark and within the window. The
# casts tell PostgreSQL each parameter's type (SQLite reads them as its type affinities).
_TOP = "(SELECT COALESCE(max(seq), 0) FROM sync_batches WHERE center_id = CAST(:center AS varchar))"
_SEQ = "CAST(:seq AS integer)"
CLAIM = (
    "INSERT INTO sync_batches (center_id, seq, digest, received_at, buckets, gateway_id) "
    f"SELECT CAST(:center AS varchar), {_SEQ}, CAST(:digest AS varchar), CAST(:now AS double precision), "
    f"CAST(:n AS integer), CAST(:gateway AS varchar) WHERE {_SEQ} - {_TOP} BETWEEN 1 AND CAST(:window AS integer) "
    "ON CONFLICT DO NOTHING RETURNING seq"
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
    kinds = {f: "json" if isinstance(table.c[f].type, JSON) else "text" if f == "day" or f == "service" else "integer"
             for f in fields}  # fmt: skip
    return "x(" + ", ".join(f"{f} {kinds[f]}" for f in fields) + ")"


def _rows_cte(name: str, table, fields: tuple[str, ...], key: str, defaults: dict[str, int]) -> str:
    """Upsert the rows of the body's `key` list (checked already), newest seq wins; a field the
    gateway left out takes its default (0, or a histogram of zeros)."""
    keys = [c.name for c in table.primary_key.columns]
    values = [f for f in fields if f not in _KEYS]
    cols = ", ".join(["center_id", "seq", *_WRITER, *fields])

    def pick(f: str) -> str:
        if f in defaults:
            return f"COALESCE(x.{f}, CAST('{json.dumps([0] * defaults[f])}' AS json))"
        return f"x.{f}" if f in _KEYS else f"COALESCE(x.{f}, 0)"

    sets = ", ".join(f"{f} = excluded.{f}" for f in ("seq", *_WRITER, *values))
    return (f"{name} AS (INSERT INTO {table.name} ({cols}) SELECT :center, :seq, CAST(:gateway AS varchar), "
            "CAST(:now AS double precision), "
            f"{', '.join(map(pick, fields))} "
            f"FROM jsonb_to_recordset((SELECT j->'{key}' FROM b)) AS {_recordset(table, fields)} "
            f"WHERE EXISTS (SELECT 1 FROM claim) ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets} "
            f"WHERE {table.name}.seq < excluded.seq RETURNING 1)")  # fmt: skip


@lru_cache(maxsize=1)
def _postgres_batch():
    """The whole batch in one statement (data-modifying CTEs): one round trip, atomic by itself.
    The body goes over as the gateway sent it (checked in Python first) and PostgreSQL takes it
    apart: no re-serialising. Rows and the snapshot are written only if the batch's (center,
    seq) was claimed just now."""
    snap = "(SELECT j->'snapshot' FROM b)"
    return text(
        "WITH b AS (SELECT CAST(:body AS jsonb) AS j), "
        f"claim AS ({CLAIM}), "
        + _rows_cte("h", hourly, BUCKET_FIELDS, "buckets", HISTOGRAMS)
        + ", "
        + _rows_cte("c", counter_days, COUNTER_FIELDS, "counters", COUNTER_HISTOGRAMS)
        + ", "
        f"s AS (INSERT INTO snapshots (center_id, taken_at, received_at, body, gateway_id) "
        f"SELECT :center, CAST({snap}->>'taken_at' AS float8), :now, CAST({snap} AS json), CAST(:gateway AS varchar) "
        f"WHERE jsonb_typeof({snap}) = 'object' AND EXISTS (SELECT 1 FROM claim) "
        "ON CONFLICT (center_id) DO UPDATE SET taken_at = excluded.taken_at, received_at = excluded.received_at, "
        "body = excluded.body, gateway_id = excluded.gateway_id "
        "WHERE snapshots.taken_at < excluded.taken_at RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM claim)"
    )


def _ingest_postgres(conn: Connection, batch: dict[str, Any], raw: bytes, digest: str, now: float,
                     gateway: str | None) -> bool:  # fmt: skip
    params = {"center": batch["center"], "seq": batch["seq"], "digest": digest, "now": now, "gateway": gateway,
              "n": len(batch["buckets"]), "body": raw.decode(), "window": SEQ_WINDOW}  # fmt: skip
    # Straight to psycopg: SQLAlchemy's per-execute work cost more than the statement itself.
    sql = _compiled(conn.dialect)
    with conn.connection.driver_connection.cursor() as cur:
        return cur.execute(sql, params).fetchone()[0]


@lru_cache(maxsize=1)
def _compiled(dialect) -> str:
    return str(_postgres_batch().compile(dialect=dialect))


def ingest(conn: Connection, batch: dict[str, Any], raw: bytes, now: float | None = None,
           gateway: str | None = None) -> Outcome:  # fmt: skip
    """Apply a batch: `batch` is what contracts.sync.check_batch made of `raw`, the body as sent,
    by the credential `gateway` (its id, recorded on every row written). On PostgreSQL one
    statement, on SQLite a few inside the caller's transaction."""
    now = time.time() if now is None else now
    if conn.dialect.name == "postgresql" and batch["seq"] is not None:
        digest = batch_digest(batch)
        if not _ingest_postgres(conn, batch, raw, digest, now, gateway):
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
            writer = {"center_id": center, "seq": seq, "gateway_id": gateway, "written_at": now}
            conn.execute(statements[name], [{**writer, **row} for row in rows])
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
