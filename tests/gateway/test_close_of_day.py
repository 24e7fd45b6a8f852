"""The close of a business day: every ticket still waiting, called, in service or parked when the
day ends is closed as `unfinished` by the first command of the next day, before its DayOpened, so
every issued number ends in exactly one outcome and the journal replays to the same state."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from contracts.sync import COUNTS, SUMS, check_batch
from gateway import protocol
from gateway.dispatch import (
    OUTCOMES,
    CallNext,
    Cancel,
    Complete,
    DispatchError,
    IssueTicket,
    NoShow,
    OpenCounter,
    Park,
    Recall,
    StartService,
    Transfer,
    Unpark,
    decide,
)
from gateway.dispatch.events import DayOpened, TicketUnfinished
from gateway.dispatch.state import ACTIVE, FINAL, State
from gateway.dispatcher import Dispatcher
from gateway.journal import JournalReader
from gateway.sync.buckets import buckets
from gateway.sync.sender import Reply, Sync
from tests.conftest import HCM, make_center

MIDNIGHT = datetime(2026, 11, 24, tzinfo=HCM).timestamp()  # the end of the desk's day, 2026-11-23
NEXT_MORNING = datetime(2026, 11, 24, 7, 0, tzinfo=HCM).timestamp()


def a_day_left_open(desk) -> dict[str, str]:
    """Counters 1–3 open; by the evening one ticket is done, one a no-show, one cancelled, and one
    each still waiting, called (counter 1), in service (counter 2) and parked. Their ids by state."""
    for n in (1, 2, 3):
        desk(OpenCounter(n), after=0)
    desk.issue("A")
    done = desk.serve(1)
    gone = desk.issue("A")
    desk.call(1)
    desk(Recall(1))
    desk(Recall(1))
    desk(NoShow(1))
    cancelled = desk.issue("B")
    desk(Cancel(cancelled))
    parked = desk.issue("C")
    desk.call(3)
    desk(Park(3))
    serving = desk.issue("B")
    desk.call(2)
    desk(StartService(2))
    called = desk.issue("A")
    desk.call(1)
    waiting = desk.issue("A")
    return {"done": done, "no_show": gone, "cancelled": cancelled, "waiting": waiting, "called": called,
            "serving": serving, "parked": parked}  # fmt: skip


def test_tickets_open_at_midnight_end_unfinished_before_the_new_day_opens(desk):
    tickets = a_day_left_open(desk)
    yesterday = desk.state
    assert {t.id: t.state for t in yesterday.tickets.values()} == {v: k for k, v in tickets.items()}

    events = decide(yesterday, OpenCounter(1), NEXT_MORNING).events

    *unfinished, opened, status = events
    assert unfinished == [TicketUnfinished(MIDNIGHT, tickets[s], s) for s in ("parked", "serving", "called", "waiting")]
    assert type(opened) is DayOpened and opened.day == "2026-11-24"
    assert status.__class__.__name__ == "CounterStatusChanged"
    yesterday.commit(unfinished)  # the old day as its closings leave it
    assert {t.id: t.state for t in yesterday.tickets.values()} == {
        **{tickets[s]: "unfinished" for s in ("waiting", "called", "serving", "parked")},
        **{tickets[s]: s for s in ("done", "no_show", "cancelled")},
    }
    assert all(t.state in FINAL for t in yesterday.tickets.values())
    assert all(t.ended_at == MIDNIGHT for t in yesterday.tickets.values() if t.state == "unfinished")
    assert [c.current for c in yesterday.counters.values()] == [None, None, None]
    assert all(q.waiting == q.waiting_priority == 0 for q in yesterday.queues.values())
    assert yesterday.waiting_in_order("A") == []


def test_a_called_ticket_keeps_its_wait_and_a_never_called_one_has_none(desk):
    tickets = a_day_left_open(desk)
    closings = decide(desk.state, OpenCounter(1), NEXT_MORNING).events[:4]
    desk.state.commit(closings)
    for state in ("called", "serving", "parked"):
        assert desk.ticket(tickets[state]).first_called_at is not None
    assert desk.ticket(tickets["waiting"]).first_called_at is None
    every = {(desk.state.day, h, s) for h in range(24) for s in desk.state.services}
    rows = buckets(desk.state, every, HCM)
    total = {name: sum(b[name] for b in rows) for name in (*COUNTS, *SUMS)}
    outcomes = {k: total[k] for k in ("issued", "served", "no_show", "cancelled", "unfinished")}
    assert outcomes == {"issued": 7, "served": 1, "no_show": 1, "cancelled": 1, "unfinished": 4}
    called = [t for t in desk.state.tickets.values() if t.first_called_at is not None]
    assert total["called"] == len(called) == 5  # all but the waiting and the cancelled one
    assert sum(sum(b["wait_hist"]) for b in rows) == 5
    assert total["wait_sum_s"] == sum(round(t.first_called_at - t.arrived_at) for t in called)
    assert sum(sum(b["service_hist"]) for b in rows) == 1  # only the done one has a service time


def test_a_day_with_every_ticket_at_an_outcome_closes_with_nothing(desk):
    desk.serve(1)
    ticket = desk.issue("A")
    desk(Cancel(ticket))
    events = desk(IssueTicket("A"), after=NEXT_MORNING - desk.now).events
    assert [type(e).__name__ for e in events] == ["DayOpened", "TicketIssued"]


def test_a_gateway_off_for_days_closes_the_old_day_at_its_own_end(desk):
    ticket = desk.issue("A")
    three_days_on = datetime(2026, 11, 27, 8, 0, tzinfo=HCM).timestamp()
    first, opened, _ = desk(IssueTicket("B"), after=three_days_on - desk.now).events
    assert first == TicketUnfinished(MIDNIGHT, ticket, "waiting")
    assert opened.day == "2026-11-27" and opened.at == three_days_on


def fold_journal(config, path) -> tuple[State, State]:
    """Every command of the journal folded in order, as the sync's fold reads it: the state just
    before the last DayOpened (the old day, closed) and the state at the end."""
    reader = JournalReader(path)
    state, old = State(config), None
    for _, _, events in reader.since(0):
        for e in events:
            if type(e) is DayOpened:
                old, state = state, State(config)
            state.commit((e,))
    reader.close()
    return old, state


def test_the_journal_holds_the_closings_in_the_old_day_and_replays_the_same(journaled_desk, center, tmp_path):
    desk = journaled_desk
    tickets = a_day_left_open(desk)
    press = desk(IssueTicket("A", key="kiosk-1:1:99"), after=NEXT_MORNING - desk.now)
    assert [type(e).__name__ for e in press.events] == [*["TicketUnfinished"] * 4, "DayOpened", "TicketIssued"]

    rows = desk.dispatcher.journal.db.execute("SELECT day, type, data FROM events ORDER BY seq").fetchall()
    *_, (day_1, type_1, _), (day_2, type_2, _), (day_3, type_3, _) = rows
    assert (day_1, type_1) == ("2026-11-23", "TicketUnfinished")  # the old day's last events
    assert (day_2, type_2, day_3, type_3) == ("2026-11-24", "DayOpened", "2026-11-24", "TicketIssued")
    live = desk.state.snapshot()

    desk.dispatcher.close()
    again = Dispatcher.open(center, tmp_path / "journal.db")
    assert again.state.snapshot() == live  # a restart replays today alone
    old, whole = fold_journal(center, tmp_path / "journal.db")
    # and the whole journal, folded in order, gives the same (the reader carries no idempotency keys)
    assert whole.snapshot() == live | {"seen": []}
    assert {t.id: t.state for t in old.tickets.values() if t.state == "unfinished"} == {
        tickets[s]: "unfinished" for s in ACTIVE
    }
    assert all(t.state in FINAL for t in old.tickets.values())

    resent = again.handle(IssueTicket("A", key="kiosk-1:1:99"), NEXT_MORNING + 60)
    assert resent.duplicate and protocol.ack("kiosk-1:1:99", resent)["ticket"] == "A001"
    again.close()


def test_the_first_commands_ack_names_its_own_ticket_not_the_old_days(desk):
    a_day_left_open(desk)
    opened = desk(OpenCounter(1), after=NEXT_MORNING - desk.now)
    assert any(type(e) is TicketUnfinished for e in opened.events)
    assert "ticket" not in protocol.ack("counter-1:1:7", opened)
    assert "ticket" not in protocol.ack("counter-1:1:8", desk(CallNext(1)))  # nobody waits in the new day


# -- a property: random days, the gateway's own sync, and the identity in the buckets it builds -------
class Province:
    """The server as the sync sees it, in memory: each bucket's value from the highest seq."""

    def __init__(self):
        self.buckets: dict[tuple, tuple[int, dict]] = {}

    def post(self, url: str, token: str, body: bytes) -> Reply:
        batch = check_batch(json.loads(body))  # what the gateway built is a batch the server takes
        for b in batch["buckets"]:
            key = (b["day"], b["hour"], b["service"])
            if key not in self.buckets or self.buckets[key][0] < batch["seq"]:
                self.buckets[key] = (batch["seq"], b)
        return Reply(200, {"ok": True, "seq": batch["seq"], "duplicate": False})

    def per_day(self) -> dict[str, dict[str, int]]:
        days: dict[str, Counter] = defaultdict(Counter)
        for (day, _, _), (_, b) in self.buckets.items():
            days[day].update({name: b[name] for name in COUNTS})
        return days


KINDS = ("issue", "issue", "issue", "next", "next", "recall", "start", "complete", "serve", "serve", "gone", "no_show",
         "transfer", "park", "unpark", "cancel", "open", "open", "wait", "midnight", "sync", "restart")  # fmt: skip
STEPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99), st.integers(0, 99)), min_size=20, max_size=150)


def commands(kind: str, a: int, b: int, state: State) -> list:
    """The commands an action stands for: `a` and `b` pick the counter, service, ticket or flag."""
    counter, service, ids = 1 + a % 3, "ABC"[b % 3], list(state.tickets)
    ticket = ids[b % len(ids)] if ids else "A001"
    if kind == "gone":  # the next citizen is called and has left
        return [CallNext(counter), NoShow(counter, False)]
    if kind == "serve":  # what a counter does all day: the next citizen, from the call to the end
        return [
            CallNext(counter),
            StartService(counter),
            Complete(counter, OUTCOMES[b % 3], None if b % 3 != 1 else "X"),
        ]
    return [
        {
            "issue": lambda: IssueTicket(service, "cao_tuoi" if a % 4 == 0 else None),
            "next": lambda: CallNext(counter),
            "recall": lambda: Recall(counter),
            "start": lambda: StartService(counter),
            "complete": lambda: Complete(counter, OUTCOMES[b % 3], "Sở Tư pháp" if b % 3 == 1 else None),
            "no_show": lambda: NoShow(counter, b % 2 == 1),  # b is often 0: mostly final
            "transfer": lambda: Transfer(counter, service),
            "park": lambda: Park(counter),
            "unpark": lambda: Unpark(ticket),
            "cancel": lambda: Cancel(ticket),
            "open": lambda: OpenCounter(counter),
        }[kind]()
    ]


def next_day_at_seven(now: float) -> float:
    local = datetime.fromtimestamp(now, HCM)
    return datetime(local.year, local.month, local.day, 7, 0, tzinfo=HCM).timestamp() + 86_400


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_every_closed_day_counts_each_issued_number_in_exactly_one_outcome(steps):
    """Random commands over days, with the gateway's sync taking rounds and restarting between them;
    after a last midnight and a drain, each closed day in the buckets the gateway built has served
    + no_show + cancelled + unfinished = issued, each count equal to its events in the journal, and
    each issued number has exactly one final event there."""
    config = make_center(min_recalls_before_no_show=0)  # no-shows without the recalls, so they come often
    province = Province()
    with tempfile.TemporaryDirectory() as folder:
        journal, outbox = Path(folder) / "journal.db", Path(folder) / "sync.db"
        dispatcher, clock = Dispatcher.open(config, journal), [MIDNIGHT - 16 * 3600]

        def sender() -> Sync:
            return Sync(config, journal, outbox, "http://province", "t", clock=lambda: clock[0], post=province.post)

        sync = sender()
        opening = [("open", n, 0) for n in range(3)]
        for kind, a, b in [*opening, *steps, ("midnight", 0, 0), ("open", 0, 0)]:
            if kind == "wait":
                clock[0] += 60 * (1 + a) + b
            elif kind == "midnight":
                clock[0] = next_day_at_seven(clock[0])
            elif kind == "sync":
                sync.step()
            elif kind == "restart":
                sync.close()
                sync = sender()
            else:
                for c in commands(kind, a, b, dispatcher.state):
                    clock[0] += 30
                    with contextlib.suppress(DispatchError):
                        dispatcher.handle(c, clock[0])
        for _ in range(50):
            sync.step()
            if not sync.outbox.pending() and sync.caught_up and not sync.touched and not sync.touched_counters:
                break
        else:
            raise AssertionError(f"the outbox did not drain: {sync.status()}")
        rows = dispatcher.journal.db.execute("SELECT day, type, data FROM events ORDER BY seq").fetchall()
        today = dispatcher.state.day
        sync.close()
        dispatcher.close()

    events: dict[str, Counter] = defaultdict(Counter)
    finals: dict[str, Counter] = defaultdict(Counter)
    for day, type_name, data in rows:
        e = json.loads(data)
        events[day][type_name] += type_name != "TicketNoShow" or not e["requeued"]
        if type_name in ("TicketCompleted", "TicketCancelled", "TicketUnfinished") or (
            type_name == "TicketNoShow" and not e["requeued"]):  # fmt: skip
            finals[day][e["ticket"]] += 1
    days = province.per_day()
    assert today not in days  # the last day has no tickets yet: its first command was the last
    assert set(days) == {day for day in events if events[day]["TicketIssued"]}
    for day, t in days.items():
        assert t["served"] + t["no_show"] + t["cancelled"] + t["unfinished"] == t["issued"], (day, t)
        assert t["served"] == t["resolved"] + t["forwarded"] + t["returned"], (day, t)
        journal_says = {"issued": "TicketIssued", "served": "TicketCompleted", "no_show": "TicketNoShow",
                        "cancelled": "TicketCancelled", "unfinished": "TicketUnfinished"}  # fmt: skip
        assert {k: t[k] for k in journal_says} == {k: events[day][v] for k, v in journal_says.items()}, day
        assert len(finals[day]) == t["issued"] and set(finals[day].values()) == {1}, day
