"""Gateway → server over real HTTP: the gateway's journal, its sync outbox and the real server
(on SQLite and on PostgreSQL), with the server stopped for a while, across a business day's end
and a gateway restart. After recovery every hourly total on the server is exact."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest
from sqlalchemy import func, select

from contracts.sync import BUCKET_FIELDS, COUNTER_FIELDS
from gateway.dispatch import Cancel, Complete, NoShow, OpenCounter, Park, Rate, Recall, StartService, Transfer
from gateway.dispatch.events import TicketUnfinished
from gateway.dispatch.state import ACTIVE, FINAL, State
from gateway.sync.buckets import buckets, counter_days
from gateway.sync.sender import Sync
from rig.province import Province
from server import schema
from tests.conftest import HCM

TICKET_COUNTS = ("issued", "served", "resolved", "forwarded", "returned", "no_show", "cancelled", "unfinished")


class Server(Province):
    """The central server with the test center, and what its tables hold."""

    def __init__(self, url: str, center):
        super().__init__(url, [center])
        self.token = self.tokens[center.id]

    def rows(self) -> dict[tuple, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.hourly)).mappings().all()
        return {(r["day"], r["hour"], r["service"]): {f: r[f] for f in BUCKET_FIELDS} for r in rows}

    def counters(self) -> dict[tuple, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.counter_days)).mappings().all()
        return {(r["day"], r["counter"]): {f: r[f] for f in COUNTER_FIELDS} for r in rows}

    def totals(self) -> dict[tuple[str, str], dict[str, int]]:
        """Per center and day, the tickets' counts summed as the province sums them, in SQL."""
        h = schema.hourly
        sums = (func.sum(h.c[n]) for n in TICKET_COUNTS)
        query = select(h.c.center_id, h.c.day, *sums).group_by(h.c.center_id, h.c.day)
        with self.engine.connect() as conn:
            return {(r[0], r[1]): dict(zip(TICKET_COUNTS, map(int, r[2:]), strict=True)) for r in conn.execute(query)}

    def snapshot(self) -> dict:
        with self.engine.connect() as conn:
            return conn.execute(select(schema.snapshots.c.body)).scalar_one()


@pytest.fixture
def server(server_db, center):
    s = Server(server_db, center).start()
    yield s
    s.close()


def expected(state, zone) -> dict[tuple, dict]:
    every = {(state.day, h, s) for h in range(24) for s in state.services}
    return {(b["day"], b["hour"], b["service"]): b for b in buckets(state, every, zone) if b["issued"]}


def expected_counters(state) -> dict[tuple, dict]:
    rows = counter_days(state, {(state.day, n) for n in state.counters})
    return {(r["day"], r["counter"]): r for r in rows if r["served"] or r["rated"]}


def gateway_sync(desk, server: Server, folder) -> Sync:
    """The gateway's sync thread's work, on the desk's journal, with its outbox in `folder`."""
    return Sync(desk.state.config, folder / "journal.db", folder / "sync.db", server.url, server.token, interval_s=0.01)


def drain(sync: Sync, rounds: int = 50) -> None:
    for _ in range(rounds):
        sync.step()
        if sync.outbox.pending() == 0 and sync.caught_up and not sync.touched and not sync.touched_counters:
            return
    raise AssertionError(f"the outbox did not drain: {sync.status()}")


def a_synced_morning(desk, server: Server, folder, tickets: int, served: int) -> Sync:
    """A counter opens, a morning's tickets, and all of it on the server: the gateway's sync."""
    sync = gateway_sync(desk, server, folder)
    desk(OpenCounter(1))
    a_morning(desk, tickets, served)
    drain(sync)
    return sync


def a_morning(desk, tickets: int, served: int) -> None:
    for i in range(tickets):
        desk.issue("AB"[i % 2], after=90)
    for _ in range(served):
        ticket = desk.call(1, after=240)
        if ticket:
            desk(StartService(1), after=30)
            desk(Complete(1), after=400)
            desk(Rate(ticket, 4 + (len(ticket) % 2)), after=5)


def test_totals_are_exact_after_the_server_was_away_and_the_gateway_restarted(server, journaled_desk, tmp_path):
    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    desk(OpenCounter(1))
    a_morning(desk, tickets=6, served=2)
    drain(sync)
    assert server.rows() == expected(desk.state, sync.zone)

    server.stop()  # the province's server is away for the rest of the morning
    a_morning(desk, tickets=20, served=9)
    for _ in range(5):
        assert sync.step() > 0  # backing off
    assert sync.failures == 5 and sync.outbox.pending() == 1  # one batch waits; the rest waits in the journal
    sync.close()
    a_morning(desk, tickets=5, served=3)
    sync = gateway_sync(desk, server, tmp_path)  # the gateway restarted during the outage
    sync.step()
    assert sync.outbox.pending() == 1

    server.start()
    drain(sync)
    assert server.rows() == expected(desk.state, sync.zone)
    totals = {f: sum(r[f] for r in server.rows().values()) for f in ("issued", "served", "rated", "called")}
    assert totals == {"issued": 31, "served": 14, "rated": 14, "called": 14}
    assert server.counters() == expected_counters(desk.state)
    assert server.counters()[(desk.state.day, 1)]["served"] == 14
    snap = server.snapshot()
    assert sum(w["count"] for w in snap["waiting"]) == sum(q.waiting for q in desk.state.queues.values())
    sync.close()


def test_a_business_day_that_ends_during_an_outage_is_complete_on_the_server(server, journaled_desk, tmp_path):
    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    desk(OpenCounter(1))
    a_morning(desk, tickets=4, served=1)
    drain(sync)
    server.stop()
    a_morning(desk, tickets=8, served=5)
    sync.step()
    first_day = next_morning(desk, OpenCounter(1), after=24 * 3600)  # the core opens a new business day
    assert sum(t.state == "unfinished" for t in first_day.tickets.values()) == 6
    a_morning(desk, tickets=3, served=1)
    sync.step()
    server.start()
    drain(sync)
    assert server.rows() == expected(first_day, sync.zone) | expected(desk.state, sync.zone)
    assert len({day for day, _, _ in server.rows()}) == 2
    assert server.counters() == expected_counters(first_day) | expected_counters(desk.state)
    sync.close()


def a_day_left_open_at_midnight(desk, server: Server, sync: Sync):
    """Counters 1 and 2 open; tickets served, a no-show and a cancelled one; the server goes away in
    the afternoon, after one batch was built; by midnight a ticket is parked, one called, one in
    service and one never called. The next morning's first command closes the day. Returns the
    old day's state as its closings leave it: 11 issued, 5 served, 1 no-show, 1 cancelled, 4
    unfinished."""
    desk(OpenCounter(1))
    desk(OpenCounter(2))
    a_morning(desk, tickets=6, served=3)
    desk.serve(2, after=60)
    drain(sync)
    server.stop()
    desk.call(1, after=60)
    desk(Recall(1), after=30)
    desk(Recall(1), after=30)
    desk(NoShow(1), after=30)
    desk(Cancel(desk.issue("A", after=60)), after=120)
    sync.step()  # built, not sent: the rest of the day waits as changed buckets
    a_morning(desk, tickets=4, served=1)
    desk.call(1, after=60)
    desk(Park(1), after=60)
    desk.call(1, after=60)
    desk.call(2, after=60)
    desk(StartService(2), after=60)
    left = sorted(t.state for t in desk.state.tickets.values() if t.state in ACTIVE)
    assert left == ["called", "parked", "serving", "waiting"]
    return next_morning(desk, OpenCounter(1), datetime(2026, 11, 24, 7, 0, tzinfo=HCM).timestamp() - desk.now)


def next_morning(desk, command, after: float) -> State:
    """The next day's first command, `after` seconds on, which closes the old day first. Returns
    the old day's state as those closings leave it (the desk's state moves on to the new day)."""
    yesterday = copy.deepcopy(desk.state)
    first = desk(command, after)
    yesterday.commit([e for e in first.events if type(e) is TicketUnfinished])
    assert desk.state.day != yesterday.day and all(t.state in FINAL for t in yesterday.tickets.values())
    return yesterday


def test_a_day_left_open_at_midnight_reaches_the_server_closed(server, journaled_desk, tmp_path):
    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    yesterday = a_day_left_open_at_midnight(desk, server, sync)
    a_morning(desk, tickets=3, served=1)
    sync.step()
    server.start()
    drain(sync)
    assert server.rows() == expected(yesterday, sync.zone) | expected(desk.state, sync.zone)
    assert server.counters() == expected_counters(yesterday) | expected_counters(desk.state)
    center = desk.state.config.id
    totals = server.totals()
    assert totals[center, "2026-11-23"] == {"issued": 11, "served": 5, "resolved": 5, "forwarded": 0, "returned": 0,
                                            "no_show": 1, "cancelled": 1, "unfinished": 4}  # fmt: skip
    today = totals[center, "2026-11-24"]
    open_now = sum(t.state in ACTIVE for t in desk.state.tickets.values())
    assert (today["issued"], today["served"], today["unfinished"], open_now) == (3, 1, 0, 2)
    assert outcomes(today) == today["issued"] - open_now  # the day is not over: two still open

    day_after = next_morning(desk, OpenCounter(2), after=24 * 3600)  # closes the 24th too
    drain(sync)
    assert server.rows() == expected(yesterday, sync.zone) | expected(day_after, sync.zone)
    totals = server.totals()
    assert totals[center, "2026-11-24"]["unfinished"] == 2
    for (_, day), t in totals.items():
        assert outcomes(t) == t["issued"], day  # every issued number ends in exactly one outcome
        assert t["served"] == t["resolved"] + t["forwarded"] + t["returned"], day
    sync.close()


def outcomes(t: dict[str, int]) -> int:
    """The identity docs/sync.md states: of a closed day, this is `issued`."""
    return t["served"] + t["no_show"] + t["cancelled"] + t["unfinished"]


def test_a_transferred_ticket_leaves_its_first_services_bucket(server, journaled_desk, tmp_path):
    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    desk(OpenCounter(1))
    desk.issue("A", after=60)
    drain(sync)
    assert desk.call(1, after=60)
    drain(sync)
    desk(Transfer(1, to_service="B"), after=60)
    drain(sync)
    issued = {key[2]: row["issued"] for key, row in server.rows().items()}
    assert issued == {"A": 0, "B": 1}  # one ticket, counted once, where it is now
    assert server.rows() == {
        **expected(desk.state, sync.zone),
        **{k: v for k, v in server.rows().items() if k[2] == "A"},
    }
    sync.close()


def test_a_build_bigger_than_a_batch_goes_in_several(server, journaled_desk, tmp_path, monkeypatch):
    import contracts.sync

    monkeypatch.setattr(contracts.sync, "MAX_BUCKETS", 2)  # the server's 500, made small enough to reach
    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    desk(OpenCounter(1))
    for i in range(8):  # A and B over three hours: six buckets
        desk.issue("AB"[i % 2], after=1500)
    a_morning(desk, tickets=2, served=3)
    sync.fold()
    sync.build()
    waiting = sync.outbox.pending()
    assert waiting >= 3
    drain(sync)
    assert server.rows() == expected(desk.state, sync.zone)
    assert server.counters() == expected_counters(desk.state)
    sync.close()


def test_a_gateway_that_lost_its_sync_db_after_a_prune_comes_out_exact(server, journaled_desk, tmp_path, caplog):
    """The issue's probe: 8 issued and synced, 4 served, `prune`, then the gateway loses sync.db
    (not its journal) and starts again at seq 1. The server's mark refuses seq 1 with 409 and
    `next_seq`; the gateway renumbers and its whole values replace the old ones."""
    import time

    from server.ingest import prune

    desk = journaled_desk
    sync = gateway_sync(desk, server, tmp_path)
    desk(OpenCounter(1))
    a_morning(desk, tickets=8, served=0)
    drain(sync)
    a_morning(desk, tickets=0, served=2)
    drain(sync)
    with server.engine.begin() as conn:
        assert prune(conn, time.time() + 1) >= 1  # every batch number but the center's highest
    a_morning(desk, tickets=0, served=2)
    sync.close()
    for name in ("sync.db", "sync.db-wal", "sync.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    sync = gateway_sync(desk, server, tmp_path)
    drain(sync)
    assert any("renumbering" in r.message for r in caplog.records), "the server refused seq 1"
    totals = {f: sum(r[f] for r in server.rows().values()) for f in ("issued", "served")}
    assert totals == {"issued": 8, "served": 4}
    assert server.rows() == expected(desk.state, sync.zone)
    assert server.counters() == expected_counters(desk.state)
    sync.close()


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_a_center_poisoned_with_a_stolen_token_is_purged_and_rebuilt_exactly(server, journaled_desk, tmp_path, caplog,
                                                                             busy, server_cli):  # fmt: skip
    """Someone copies the gateway's token and posts poison within every bound the server checks:
    buckets far above the truth (one for an hour the center never had), a batch number 500
    ahead, a snapshot from 10 minutes in the future with 500 waiting. The honest gateway goes on
    syncing, but what it does not touch again stays wrong. `revoke-gateway --purge-since` removes
    what the token wrote since the theft; with a new token the gateway is told to resend and the
    province comes out exact, snapshot included. Idle, the gateway sends snapshots only (no seq)
    and learns of the purge from them; busy, from its next batch."""
    import json
    import time
    import urllib.request
    from datetime import UTC, datetime

    from server import accounts

    desk = journaled_desk
    sync = a_synced_morning(desk, server, tmp_path, tickets=6, served=2)
    stolen_at = time.time() - 1

    with server.engine.connect() as conn:
        top = conn.execute(select(schema.batches.c.seq).order_by(schema.batches.c.seq.desc()).limit(1)).scalar_one()
    honest = next(iter(server.rows().values()))
    poison = [{**honest, "issued": honest["issued"] + 500},
              {**honest, "hour": 3, "issued": 500, "served": 0, "called": 0}]  # fmt: skip
    snapshot = server.snapshot() | {"taken_at": time.time() + 600}
    snapshot["waiting"] = [{**w, "count": 500} for w in snapshot["waiting"]] or snapshot["waiting"]
    body = {"center": desk.state.config.id, "seq": top + 500, "buckets": poison, "snapshot": snapshot}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
    request = urllib.request.Request(server.url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200  # nothing in the body is out of bounds: only who sent it is wrong

    a_morning(desk, tickets=4, served=2)
    drain(sync)
    assert server.rows() != expected(desk.state, sync.zone)
    assert sum(r["issued"] for r in server.rows().values()) > 500
    assert server.snapshot()["taken_at"] > time.time() + 60  # every honest snapshot is discarded

    since = datetime.fromtimestamp(stolen_at, UTC).isoformat()
    gateway_id = server.token.partition(".")[0]
    done = server_cli("revoke-gateway", gateway_id, "--purge-since", since)
    assert done.exit_code == 0, done.output
    assert "will resend its journal from seq" in done.output and "removed " in done.output, done.output
    with server.engine.begin() as conn:
        sync.token = accounts.add_gateway(conn, desk.state.config.id)  # the technician's new token
    if busy:
        a_morning(desk, tickets=2, served=1)
        sync.fold()
        sync.build()
        assert sync.outbox.pending() == 1
    deadline = time.monotonic() + 30  # the server's workers learn a new token within 2 s
    while server.rows() != expected(desk.state, sync.zone) and time.monotonic() < deadline:
        sync.step()
        time.sleep(0.05)
    drain(sync)
    assert any("reading the journal again" in r.message for r in caplog.records)
    assert server.rows() == expected(desk.state, sync.zone)
    assert {f: sum(r[f] for r in server.rows().values()) for f in ("issued", "served")} == {
        "issued": 12 if busy else 10,
        "served": 5 if busy else 4,
    }
    assert server.counters() == expected_counters(desk.state)
    snap = server.snapshot()
    assert snap["taken_at"] <= time.time() + 1
    assert sum(w["count"] for w in snap["waiting"]) == sum(q.waiting for q in desk.state.queues.values())
    sync.close()


def test_every_row_records_the_credential_that_wrote_it(server, journaled_desk, tmp_path):
    desk = journaled_desk
    sync = a_synced_morning(desk, server, tmp_path, tickets=3, served=1)
    gateway_id = server.token.partition(".")[0]
    with server.engine.connect() as conn:
        for table in (schema.batches, schema.hourly, schema.counter_days, schema.snapshots):
            writers = set(conn.execute(select(table.c.gateway_id)).scalars())
            assert writers == {gateway_id}, table.name
        assert all(t is not None for t in conn.execute(select(schema.hourly.c.written_at)).scalars())
    sync.close()
