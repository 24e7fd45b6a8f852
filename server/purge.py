"""Undoing what a stolen or misused gateway credential wrote.

Every batch, bucket, counter-day and snapshot records the credential that wrote it and when
(server/schema.py). `purge` deletes what one credential wrote since a time and leaves a mark as
the center's highest batch (ingest.RESEND_DIGEST): the center's gateway, at its next sync, is
answered 409 with `resend: true` and sends every value of its journal again as whole values, with
numbers above the mark. Rows the honest gateway wrote stay; the ones the attacker overwrote are
written again by the resend. A gateway with nothing new sends snapshots only, without a seq: the
centers asked to resend (`resend_requests`, a handful of rows) ride in every worker's token
cache, so such a snapshot is answered 409 as well. Nothing else on the sync path pays: the mark
is looked up only for a center in that list or a batch already refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, text

from . import rollups
from .ingest import RESEND_DIGEST, top_batch
from .schema import batches, counter_days, gateways, hourly, resend_requests, snapshots


@dataclass(frozen=True)
class Purged:
    center_id: str
    batches: int
    buckets: int
    counter_days: int
    snapshots: int
    resend_from: int  # the seq the center's gateway will resend from


def purge(conn: Connection, gateway_id: str, since: float, now: float | None = None) -> Purged:
    """Remove what credential `gateway_id` wrote at or after `since` (seconds since the epoch) and
    ask its center's gateway to resend. Raises LookupError for an unknown credential."""
    center = conn.execute(select(gateways.c.center_id).where(gateways.c.id == gateway_id)).scalar_one_or_none()
    if center is None:
        raise LookupError(gateway_id)

    def written(t):
        return delete(t).where(t.c.center_id == center, t.c.gateway_id == gateway_id, t.c.written_at >= since)

    rollups.lock(conn, center)  # no batch of the center between the rows read and the day rows changed
    buckets = conn.execute(written(hourly).returning(*hourly.c)).mappings().all()
    rollups.add(conn, center, rollups.removed(buckets))  # the day rows follow
    counts = {"hourly": len(buckets), "counter_days": conn.execute(written(counter_days)).rowcount}
    stale_snapshot = (snapshots.c.center_id == center, snapshots.c.gateway_id == gateway_id,
                      snapshots.c.received_at >= since)  # fmt: skip
    n_snapshots = conn.execute(delete(snapshots).where(*stale_snapshot)).rowcount
    # The mark goes above every seq ever taken (the attacker's too), so that every resent value
    # carries a higher seq than any row left and replaces it.
    top = conn.execute(select(func.coalesce(func.max(batches.c.seq), 0)).where(batches.c.center_id == center))
    mark = top.scalar_one() + 1
    n_batches = conn.execute(
        delete(batches).where(
            batches.c.center_id == center, batches.c.gateway_id == gateway_id, batches.c.received_at >= since
        )
    ).rowcount
    now = time.time() if now is None else now
    mark = _leave_mark(conn, center, mark, now)
    conn.execute(delete(resend_requests).where(resend_requests.c.center_id == center))
    conn.execute(resend_requests.insert().values(center_id=center, seq=mark, requested_at=now))
    return Purged(center, n_batches, counts["hourly"], counts["counter_days"], n_snapshots, mark + 1)


def _leave_mark(conn: Connection, center: str, mark: int, now: float) -> int:
    """The mark row; a batch taken at the same seq meanwhile (the honest gateway racing the purge)
    moves it one further, since the mark must be the highest."""
    insert = text("INSERT INTO sync_batches (center_id, seq, digest, received_at, buckets) "
                  "VALUES (:center, :seq, :digest, :now, 0) ON CONFLICT DO NOTHING RETURNING seq")  # fmt: skip
    while conn.execute(insert, {"center": center, "seq": mark, "digest": RESEND_DIGEST, "now": now}).first() is None:
        mark += 1
    return mark


def resend_from(conn: Connection, center: str) -> int | None:
    """The seq a center asked to resend should send from, or None once it has: the mark is no
    longer its highest batch (the request row is then removed)."""
    top = top_batch(conn, center)
    if top is not None and top.digest == RESEND_DIGEST:
        return top.seq + 1
    conn.execute(delete(resend_requests).where(resend_requests.c.center_id == center))
    return None


def resend_requested(conn: Connection) -> set[str]:
    return set(conn.execute(select(resend_requests.c.center_id)).scalars())
