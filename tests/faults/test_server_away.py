"""Fault: the central server is away for a whole simulated business day, then comes back.

Why: a center must keep serving citizens while the province's server (or the internet) is down,
and the province's figures must still end up exact: the province reports them upward, and a
ticket lost or counted twice is a wrong number in an official report. docs/sync.md promises it:
the gateway's sync sender keeps the batch it built in its outbox (sync.db) and, by design, builds
no other while that one waits: the rest of the day waits in the journal, noted as changed buckets,
and goes as one more batch when the server is back. The province must then get every ticket once.

How: a center's gateway (the real Dispatcher and journal) lives a simulated business day
(gateway/simulation.py, simulated clock, no sleeping) while its real sync sender retries, on its
own backoff schedule in simulated time, a real server that is stopped (connection refused). At
lunch the sender is restarted on the same files; in the evening the Pi is switched off. Overnight
the server comes back (the real Flask app over real HTTP); the next morning the Pi is switched
on and the sender drains. Then the server's rows and its center report for that day must equal,
exactly, what the gateway's journal says. Quick: one day, one center; HANGCHO_FAULTS=full: three
days in a row (the server away each day) and a second center. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

import rig.province
from contracts.sync import BUCKET_FIELDS, COUNTER_FIELDS, empty_bucket, empty_counter_day
from faults.checker import FULL, Score, integrity, rounds
from gateway.config import DEMO_CENTER, CenterConfig, center_from_dict
from gateway.dispatch.state import DONE, State
from gateway.dispatcher import Dispatcher, replay
from gateway.simulation import Profile, day_report, simulate_day
from gateway.sync.buckets import buckets, counter_days
from gateway.sync.sender import Reply, Sync, http_post
from server import reports, schema

FAULT = "server away for a day"
FIRST_DAY = date(2026, 11, 23)  # a Monday; full runs Monday to Wednesday
REPORTED = ("issued", "served", "resolved", "forwarded", "returned", "no_show")


# -- the province: the real server, stopped and started on one port -------------------------------
class Province(rig.province.Province):
    """The real server on one port, and what the test reads from it."""

    def hourly(self, center: str, day: str) -> dict[tuple, dict]:
        query = select(schema.hourly).where(schema.hourly.c.center_id == center, schema.hourly.c.day == day)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {(r["hour"], r["service"]): {f: r[f] for f in BUCKET_FIELDS} for r in rows}

    def counters(self, center: str, day: str) -> dict[int, dict]:
        table = schema.counter_days
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.center_id == center, table.c.day == day)).mappings().all()
        return {r["counter"]: {f: r[f] for f in COUNTER_FIELDS} for r in rows}

    def batches(self, center: str) -> int:
        query = select(func.count()).select_from(schema.batches).where(schema.batches.c.center_id == center)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def days(self, center: str) -> set[str]:
        query = select(schema.hourly.c.day).where(schema.hourly.c.center_id == center).distinct()
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def report(self, center: str, day: str) -> dict:
        """What the dashboard and /api/v1/centers/<id> show for the day (the same function)."""
        with self.engine.connect() as conn:
            return reports.center_report(
                conn, {"id": center}, day, day, time.time(), self.app.extensions["hangcho.settings"]
            )


# -- a center's gateway: the Pi, its journal, its sender, a simulated clock ------------------------
@dataclass
class Outage:
    """What the sender did while the server was away, for one center and one day."""

    attempts: int = 0
    replies: Counter = field(default_factory=Counter)
    pending: list[int] = field(default_factory=list)
    backlog: list[tuple[int, int]] = field(default_factory=list)  # buckets, counter-days waiting for a batch
    outbox_bytes: int = 0
    first_batch: dict | None = None
    at_power_off: tuple = ()
    notes: list[str] = field(default_factory=list)


class Gateway:
    def __init__(self, config: CenterConfig, folder: Path, province: Province):
        self.config, self.province = config, province
        self.zone = ZoneInfo(config.timezone)
        folder.mkdir(parents=True, exist_ok=True)
        self.journal, self.outbox = folder / "journal.db", folder / "sync.db"
        self.dispatcher: Dispatcher | None = None
        self.sync: Sync | None = None
        self.now = self.next_try = 0.0
        self.outage = Outage()
        self.lunch_restart_at = float("inf")
        self.sent: list[tuple[int, int]] = []  # (status, bytes) of every post

    def post(self, url: str, token: str, body: bytes) -> Reply:
        reply = http_post(url, token, body)
        self.sent.append((reply.status, len(body)))
        return reply

    def open_sender(self) -> Sync:
        return Sync(self.config, self.journal, self.outbox, self.province.url, self.province.tokens[self.config.id],
                    clock=lambda: self.now, post=self.post)  # fmt: skip

    def power_on(self, at: float) -> None:
        self.now = self.next_try = at
        self.dispatcher = Dispatcher.open(self.config, self.journal)
        self.sync = self.open_sender()

    def power_off(self) -> None:
        self.sync.close()
        self.dispatcher.close()
        self.sync = self.dispatcher = None

    def handle(self, command, now: float):
        """The dispatcher's handle, with the sender's rounds that fell due before `now` run first."""
        self.tick(now)
        if now >= self.lunch_restart_at:
            self.lunch_restart_at = float("inf")
            self.restart_sender()
        return self.dispatcher.handle(command, now)

    def tick(self, until: float) -> None:
        """Run the sender's rounds due up to `until`, each at its own simulated time."""
        while self.next_try <= until:
            self.now = self.next_try
            before = len(self.sent)
            wait = self.sync.step()
            self.note_attempt(self.sent[before:])
            self.next_try = self.now + max(wait, 1.0)
        self.now = until

    def note_attempt(self, posts: list[tuple[int, int]]) -> None:
        o, pending = self.outage, self.sync.outbox.pending()
        o.attempts += 1
        o.replies.update(status for status, _ in posts)
        backlog = (len(self.sync.touched), len(self.sync.touched_counters))
        if o.pending and pending < o.pending[-1]:
            o.notes.append(f"{self.config.id}: the outbox went from {o.pending[-1]} to {pending} batches while away")
        if o.pending and o.pending[-1] and (backlog[0] < o.backlog[-1][0] or backlog[1] < o.backlog[-1][1]):
            o.notes.append(
                f"{self.config.id}: the backlog shrank from {o.backlog[-1]} to {backlog} with no batch built"
            )
        o.pending.append(pending)
        o.backlog.append(backlog)
        if o.first_batch is None and pending:
            o.first_batch = self.sync.outbox.oldest()
        o.outbox_bytes = max(o.outbox_bytes, sum(p.stat().st_size for p in self.outbox.parent.glob("sync.db*")))

    def restart_sender(self) -> None:
        """Close the sender and open a new one on the same files: it must find the same backlog."""
        self.sync.fold()
        before = self.backlog()
        self.sync.close()
        self.sync = self.open_sender()
        self.sync.fold()
        if self.backlog() != before:
            self.outage.notes.append(f"{self.config.id}: the sender came back from a restart with another backlog")
        self.next_try = self.now

    def backlog(self) -> tuple:
        """Everything the sender still owes the server: journal read up to, changed buckets, the outbox."""
        s = self.sync
        return s.folded, set(s.touched), set(s.touched_counters), s.outbox.pending(), s.outbox.oldest()

    def drain(self, max_rounds: int = 100) -> int:
        """Step without waiting until the outbox is empty and the journal read: the server is back."""
        for n in range(1, max_rounds + 1):
            self.now += 0.1
            self.sync.step()
            s = self.sync
            if s.outbox.pending() == 0 and s.caught_up and not s.touched and not s.touched_counters:
                return n
        raise AssertionError(f"{self.config.id}: the outbox did not drain: {self.sync.status()}")


# -- the truth, from the journal, and the comparison -----------------------------------------------
@dataclass
class Truth:
    """A day's figures as the gateway's journal says them (a fresh replay, not the live state)."""

    buckets: dict[tuple, dict]
    counters: dict[int, dict]
    state: State

    @classmethod
    def of(cls, dispatcher: Dispatcher, zone: ZoneInfo) -> Truth:
        state = replay(dispatcher.config, dispatcher.journal)
        every = {(state.day, h, s) for h in range(24) for s in state.services}
        rows = {(b["hour"], b["service"]): b for b in buckets(state, every, zone) if b["issued"]}
        counters = {r["counter"]: r for r in counter_days(state, {(state.day, n) for n in state.counters})}
        return cls(rows, {n: r for n, r in counters.items() if r["served"] or r["rated"]}, state)


def compare_rows(center: str, day: str, truth: Truth, province: Province) -> Score:
    """Every bucket and counter-day of the day, on the server against the journal: a bucket or
    counter-day missing on one side counts as all zeros there."""
    score = Score(FAULT)
    server = province.hourly(center, day)
    for key in sorted(truth.buckets.keys() | server.keys()):
        ours = truth.buckets.get(key) or empty_bucket(day, *key)
        theirs = server.get(key) or empty_bucket(day, *key)
        gap = theirs["issued"] - ours["issued"]
        score.lost += max(0, -gap)
        score.duplicated += max(0, gap)
        wrong = [f for f in BUCKET_FIELDS if f != "issued" and ours[f] != theirs[f]]
        if gap or wrong:
            score.notes.append(f"{center} {day} {key}: issued {ours['issued']}→{theirs['issued']}, differ {wrong}")
        if wrong or (key not in truth.buckets and gap > 0):
            score.unexpected += 1  # a value the journal does not have, or a bucket it never had
    counters = province.counters(center, day)
    for n in sorted(truth.counters.keys() | counters.keys()):
        ours = truth.counters.get(n) or empty_counter_day(day, n)
        theirs = counters.get(n) or empty_counter_day(day, n)
        wrong = [f for f in COUNTER_FIELDS if ours[f] != theirs[f]]
        if wrong:
            score.unexpected += 1
            score.notes.append(f"{center} {day} counter {n}: {wrong} differ")
    return score


def compare_report(center: str, day: str, truth: Truth, province: Province) -> Score:
    """The server's report (per service, per hour, per counter) against totals counted straight
    from the journal's tickets: another road to the same numbers, through the dashboard's code."""
    score = Score(FAULT)
    report = province.report(center, day)
    ours = {
        r.code: dict(zip(REPORTED, (r.tickets, r.served, r.resolved, r.forwarded, r.returned, r.no_shows), strict=True))
        for r in day_report(truth.state)
        if r.tickets
    }
    theirs = {s["service"]: {k: s[k] for k in REPORTED} for s in report["services"]}
    tickets = truth.state.tickets.values()
    zone = ZoneInfo(truth.state.config.timezone)
    checks = {
        "per service": (ours, theirs),
        "per hour": (Counter(datetime.fromtimestamp(t.arrived_at, zone).hour for t in tickets),
                     Counter({h["hour"]: h["issued"] for h in report["hours"]})),
        "served per counter": (Counter(t.served_by for t in tickets if t.state == DONE),
                               Counter({c["counter"]: c["served"] for c in report["counters"] if c["served"]})),
        "rated per counter": (Counter(t.rated_counter for t in tickets if t.rating is not None),
                              Counter({c["counter"]: c["rated"] for c in report["counters"] if c["rated"]})),
    }  # fmt: skip
    for name, (expected, got) in checks.items():
        if expected != got:
            score.unexpected += 1
            score.notes.append(f"{center} {day} report {name}: journal {expected} ≠ server {got}")
    return score


# -- one simulated day with the server away --------------------------------------------------------
def local(day: date, hh: int, mm: int, zone: ZoneInfo) -> float:
    return datetime.combine(day, clock_time(hh, mm), zone).timestamp()


def second_center() -> CenterConfig:
    """The demo center again under another id: a second gateway pushing to the same server."""
    data = tomllib.loads(DEMO_CENTER.read_text(encoding="utf-8"))
    data["center"] |= {"id": "phu-dinh-diem-2", "name": "Điểm tiếp nhận Phú Định 2"}
    return center_from_dict(data, source=str(DEMO_CENTER))


def live_through_the_day(gw: Gateway, day: date, citizens: int, seed: int) -> Truth:
    """The whole business day with the server away: the sender retries on its own backoff, is
    restarted at lunch, and the Pi is switched off at 18:00. Returns the day's truth."""
    gw.outage = Outage()
    gw.lunch_restart_at = local(day, 12, 0, gw.zone)
    simulate_day(gw.config, gw.handle, day, Profile(citizens=citizens), seed)
    gw.tick(local(day, 18, 0, gw.zone))
    truth = Truth.of(gw.dispatcher, gw.zone)
    assert truth.state.day == day.isoformat() and len(truth.state.tickets) == citizens
    gw.sync.fold()
    gw.outage.at_power_off = gw.backlog()
    gw.power_off()
    return truth


@dataclass
class Drain:
    rounds: int
    batches: int  # accepted by the server
    bytes: int
    seconds: float


def morning_after(gw: Gateway, day: date) -> Score:
    """The Pi is switched on the next morning, the server being back, and the outbox drains. The
    sender must find what it owed at 18:00, with the batch built in yesterday's first minutes
    still waiting, unchanged."""
    score, o = Score(FAULT, notes=list(gw.outage.notes)), gw.outage
    gw.power_on(local(day + timedelta(days=1), 7, 0, gw.zone))
    gw.sync.fold()
    if gw.backlog() != o.at_power_off:
        score.notes.append(f"{gw.config.id}: the sender came back from the night with another backlog")
    if o.first_batch is None or gw.sync.outbox.oldest() != o.first_batch:
        score.notes.append(f"{gw.config.id}: the batch built in the morning is not the one waiting")
    if set(o.replies) != {0}:
        score.notes.append(f"{gw.config.id}: replies while away: {dict(o.replies)}")
    score.unexpected += len(score.notes)
    batches, sent, started = gw.province.batches(gw.config.id), len(gw.sent), time.perf_counter()
    steps = gw.drain()
    drain = Drain(steps, gw.province.batches(gw.config.id) - batches, sum(n for _, n in gw.sent[sent:]),
                  time.perf_counter() - started)  # fmt: skip
    if any(status != 200 for status, _ in gw.sent[sent:]):
        score.unexpected += 1
        score.notes.append(f"{gw.config.id}: replies while draining {gw.sent[sent:]}")
    print_figures(gw, day, drain)
    return score


def print_figures(gw: Gateway, day: date, drain: Drain) -> None:
    o = gw.outage
    buckets_waiting, counters_waiting = map(max, zip(*o.backlog, strict=True))
    print(f"{gw.config.id} {day}: away all day, {o.attempts} attempts; outbox at most {max(o.pending)} batch(es), "
          f"sync.db with its WAL at most {o.outbox_bytes} bytes; at most {buckets_waiting} buckets and "
          f"{counters_waiting} counter-days waiting; drained in {drain.rounds} rounds: {drain.batches} batches, "
          f"{drain.bytes} bytes, {drain.seconds * 1000:.0f} ms")  # fmt: skip


def test_server_away_for_a_day_then_back_totals_are_exact(server_db, tmp_path, scored):
    centers = [center_from_dict(tomllib.loads(DEMO_CENTER.read_text(encoding="utf-8")), source=str(DEMO_CENTER))]
    if FULL:
        centers.append(second_center())
    gateways: list[Gateway] = []
    province = Province(server_db, centers, clock=lambda: gateways[0].now)  # the simulated days' clock
    gateways += [Gateway(c, tmp_path / c.id, province) for c in centers]
    score, truths = Score(FAULT, rounds=rounds(full=3, quick=1)), {}
    try:
        for g in gateways:
            g.power_on(local(FIRST_DAY, 7, 0, g.zone))
        for r in range(score.rounds):
            day = FIRST_DAY + timedelta(days=r)
            province.stop()  # away before the center opens (on the first day: not started yet)
            for i, g in enumerate(gateways):
                truths[g.config.id, day.isoformat()] = live_through_the_day(g, day, 300 - 90 * i, seed=11 * r + i + 1)
            province.start()  # back overnight
            for g in gateways:
                score.add(morning_after(g, day))
                score.add(compare_report(g.config.id, day.isoformat(), truths[g.config.id, day.isoformat()], province))
            for (center, on), truth in truths.items():  # every day so far: a later batch must not touch it
                score.add(compare_rows(center, on, truth, province))
        score.operations = sum(len(t.state.tickets) for t in truths.values())
        score.add(no_other_days(gateways, truths, province))
    finally:
        for g in gateways:
            if g.sync is not None:
                g.power_off()
        province.close()
    score.integrity = integrity_of(gateways, server_db)
    scored(score)


def no_other_days(gateways: list[Gateway], truths: dict, province: Province) -> Score:
    score = Score(FAULT)
    for g in gateways:
        days = province.days(g.config.id)
        if days != {on for center, on in truths if center == g.config.id}:
            score.unexpected += 1
            score.notes.append(f"{g.config.id}: days on the server {sorted(days)}")
    return score


def integrity_of(gateways: list[Gateway], server_db: str) -> str:
    """The gateways' journals and outboxes, and the server's file when it is SQLite."""
    files = [f for g in gateways for f in (g.journal, g.outbox)]
    if server_db.startswith("sqlite:///"):
        files.append(Path(server_db.removeprefix("sqlite:///")))
    bad = [f"{f.name}: {result}" for f in files if (result := integrity(f)) != "ok"]
    return "; ".join(bad) or "ok"
