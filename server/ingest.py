"""Taking a gateway's batch into the database: idempotent by (center, seq), per-bucket newest-wins.

The batch is recorded by its sequence number and the digest of its buckets first (the snapshot
riding along may differ between retries). A replay of the same seq with the same digest is a
duplicate: answered as accepted, nothing written. The same seq with a
different body is a conflict (a gateway whose database was rebuilt): refused with the next free
seq so the gateway can renumber. Otherwise each bucket replaces the stored one only if it comes
from a higher seq, so batches applied in any order leave the values of the newest one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from syncproto import BUCKET_FIELDS, COUNTER_FIELDS
from syncproto import digest as batch_digest

from .schema import batches, counter_days, hourly, snapshots

_KEYS = ("center_id", "day", "hour", "service", "counter")


@dataclass(frozen=True)
class Outcome:
    status: str  # "applied", "duplicate" or "conflict"
    applied: int = 0
    next_seq: int | None = None


def _insert(conn: Connection, table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def ingest(conn: Connection, batch: dict[str, Any], now: float | None = None) -> Outcome:
    """Apply a checked batch (syncproto.check_batch) inside the caller's transaction."""
    now = time.time() if now is None else now
    center, seq = batch["center"], batch["seq"]
    if seq is None:  # a snapshot alone
        if batch["snapshot"] is not None:
            _snapshot(conn, center, batch["snapshot"], now)
        return Outcome("applied")
    digest = batch_digest(batch)
    claim = _insert(conn, batches).values(center_id=center, seq=seq, digest=digest, received_at=now,
                                          buckets=len(batch["buckets"]))  # fmt: skip
    if conn.execute(claim.on_conflict_do_nothing().returning(batches.c.seq)).first() is None:
        known = conn.execute(select(batches.c.digest).where(batches.c.center_id == center, batches.c.seq == seq))
        if known.scalar_one() == digest:
            return Outcome("duplicate")
        top = conn.execute(select(func.max(batches.c.seq)).where(batches.c.center_id == center)).scalar_one()
        return Outcome("conflict", next_seq=top + 1)
    applied = _newest(conn, hourly, BUCKET_FIELDS, center, seq, batch["buckets"])
    applied += _newest(conn, counter_days, COUNTER_FIELDS, center, seq, batch["counters"])
    if batch["snapshot"] is not None:
        _snapshot(conn, center, batch["snapshot"], now)
    return Outcome("applied", applied)


def _newest(conn: Connection, table, fields: tuple[str, ...], center: str, seq: int, rows: list[dict]) -> int:
    """Upsert whole values; a stored row from a higher seq is left as it is."""
    if not rows:
        return 0
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c for c in table.primary_key.columns],
        set_={"seq": stmt.excluded.seq, **{f: stmt.excluded[f] for f in fields if f not in _KEYS}},
        where=table.c.seq < stmt.excluded.seq,
    )
    conn.execute(stmt, [{"center_id": center, "seq": seq, **row} for row in rows])
    return len(rows)


def _snapshot(conn: Connection, center: str, snapshot: dict[str, Any], now: float) -> None:
    stmt = _insert(conn, snapshots).values(center_id=center, taken_at=snapshot["taken_at"], received_at=now,
                                            body=snapshot)  # fmt: skip
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[snapshots.c.center_id],
            set_={
                "taken_at": stmt.excluded.taken_at,
                "received_at": stmt.excluded.received_at,
                "body": stmt.excluded.body,
            },
            where=snapshots.c.taken_at < stmt.excluded.taken_at,
        )
    )
