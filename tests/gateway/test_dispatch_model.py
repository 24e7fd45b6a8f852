"""The dispatch core beside a deliberately simple reference model (hypothesis).

The model keeps a flat dict of tickets and finds the next ticket by sorting
every waiting ticket: slow and obvious. The real core keeps heaps, counts and
stale entries. Every step runs both and compares: whether the command is
accepted, which ticket a counter calls, what is waiting. The core runs with its
real SQLite journal; a `restart` rule reopens it and checks that replay gives
back the same state. Invariants: no ticket lost, no number twice in a day, a
ticket at one counter at most, order as documented.
"""

from __future__ import annotations

import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gateway import dispatch as d
from gateway.config import center_from_dict
from gateway.dispatcher import Dispatcher

SMALL_CENTER = Path(__file__).parent.parent / "data" / "small_center.toml"
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()


@dataclass
class MTicket:
    id: str
    service: str
    priority: bool
    arrived: float
    state: str = "waiting"
    counter: int | None = None
    directed: int | None = None
    order: int = 0  # enqueue order: ties on arrival go by it
    recalls: int = 0
    rated: bool = False
    served_by: int | None = None


@dataclass
class MCounter:
    tiers: tuple
    status: str = "closed"
    current: str | None = None
    streak: int = 0
    normals: int = 0


class Model:
    def __init__(self, config):
        self.rules = config.rules
        self.services = {s.code: s for s in config.services}
        self.tickets: dict[str, MTicket] = {}
        self.counters = {c.number: MCounter(c.tiers, normals=config.rules.priority_limit) for c in config.counters}
        self.enqueues = 0

    def enqueue(self, t: MTicket) -> None:
        self.enqueues += 1
        t.order, t.state = self.enqueues, "waiting"

    def allowed(self, c: MCounter) -> bool:
        if self.rules.priority_mode == "in_row":
            return c.streak < self.rules.priority_limit
        return c.normals >= self.rules.priority_limit

    def pick(self, number: int) -> MTicket | None:
        waiting = sorted((t for t in self.tickets.values() if t.state == "waiting"), key=lambda t: (t.arrived, t.order))
        directed = [t for t in waiting if t.directed == number]
        if directed:
            return directed[0]
        c = self.counters[number]
        for tier in c.tiers:
            here = [t for t in waiting if t.directed is None and t.service in tier]
            pri = [t for t in here if t.priority]
            norm = [t for t in here if not t.priority]
            if not here:
                continue
            guard = self.rules.starvation_minutes * 60
            first = min(here, key=lambda t: (t.arrived, t.order))
            if pri and (not norm or first is pri[0]):
                return pri[0]
            if pri and norm[0].arrived + guard > pri[0].arrived and self.allowed(c):
                return pri[0]
            return norm[0]
        return None

    def call(self, number: int, t: MTicket) -> None:
        c = self.counters[number]
        t.state, t.counter, t.directed, t.recalls = "called", number, None, 0
        c.current = t.id
        if t.priority:
            c.streak, c.normals = c.streak + 1, 0
        else:
            c.streak, c.normals = 0, c.normals + 1

    def current(self, number: int, *states: str) -> MTicket | None:
        c = self.counters[number]
        t = self.tickets.get(c.current) if c.current else None
        return t if t is not None and t.state in states else None

    def release(self, number: int) -> MTicket:
        c = self.counters[number]
        t = self.tickets[c.current]
        c.current, t.counter = None, None
        return t


SERVICES = st.sampled_from(["A", "B", "C"])
COUNTERS = st.sampled_from([1, 2, 3])
PRIORITY = st.sampled_from([None, None, "cao_tuoi"])


class DispatchMachine(RuleBasedStateMachine):
    # A short starvation guard, so that random waits cross it often.
    dispatch_rules: ClassVar[dict] = {"priority_mode": "in_row", "priority_limit": 2, "starvation_minutes": 5}

    def __init__(self):
        super().__init__()
        data = tomllib.loads(SMALL_CENTER.read_text(encoding="utf-8"))
        data["dispatch"].update(self.dispatch_rules)
        self.config = center_from_dict(data, source=str(SMALL_CENTER))
        self.tmp = tempfile.TemporaryDirectory()
        self.path = Path(self.tmp.name) / "journal.db"
        self.core = Dispatcher.open(self.config, self.path)
        self.model = Model(self.config)
        self.now = MORNING
        self.issued = 0

    def teardown(self):
        self.core.close()
        self.tmp.cleanup()

    def run(self, command) -> d.Decision | None:
        """The core's answer, or None when it refused (state must be unchanged)."""
        before = self.core.state.snapshot()
        journaled = self.core.journal.last_seq()
        try:
            return self.core.handle(command, self.now)
        except d.DispatchError:
            assert self.core.state.snapshot() == before
            assert self.core.journal.last_seq() == journaled
            return None

    # -- the clock ----------------------------------------------------------------
    # Short steps, and steps around the 5-minute starvation guard the machine runs with.
    @rule(seconds=st.one_of(st.integers(0, 120), st.sampled_from([180, 240, 290, 300, 310, 600])))
    def wait(self, seconds):
        self.now += seconds

    # -- citizens -------------------------------------------------------------------
    @rule(service=SERVICES, priority=PRIORITY)
    def issue(self, service, priority):
        m = self.model
        n = sum(t.id[0] == service for t in m.tickets.values()) + 1
        result = self.run(d.IssueTicket(service, priority, key=f"k{self.issued}"))
        if n > self.config_last(service):
            assert result is None
            return
        (issued,) = [e for e in result.events if e.__class__.__name__ == "TicketIssued"]
        assert issued.ticket == f"{service}{n:03d}"
        t = MTicket(issued.ticket, service, priority is not None, self.now)
        m.tickets[t.id] = t
        m.enqueue(t)
        self.issued += 1

    @rule(data=st.data())
    def repeat_a_key(self, data):
        if not self.issued:
            return
        i = data.draw(st.integers(0, self.issued - 1))
        before = self.core.state.snapshot()
        result = self.core.handle(d.IssueTicket("A", key=f"k{i}"), self.now)
        assert result.duplicate
        assert self.core.state.snapshot() == before

    def config_last(self, service):
        return next(s.last for s in self.config.services if s.code == service)

    # -- counters -------------------------------------------------------------------
    @rule(number=COUNTERS, status=st.sampled_from(["open", "paused", "closed"]))
    def set_status(self, number, status):
        c = self.model.counters[number]
        command = {"open": d.OpenCounter, "paused": d.PauseCounter, "closed": d.CloseCounter}[status](number)
        result = self.run(command)
        if status != "open" and c.status != status and c.current is not None:
            assert result is None
            return
        assert result is not None
        c.status = status

    @rule(number=COUNTERS)
    def call_next(self, number):
        c = self.model.counters[number]
        expected = self.model.pick(number) if c.status == "open" and c.current is None else None
        result = self.run(d.CallNext(number))
        if c.status != "open" or c.current is not None:
            assert result is None
            return
        got = result.events[-1].ticket if result.events else None
        assert got == (expected.id if expected else None)
        if expected:
            self.model.call(number, expected)

    @rule(number=COUNTERS, data=st.data())
    def call_ticket(self, number, data):
        if not self.model.tickets:
            return
        t = self.model.tickets[data.draw(st.sampled_from(sorted(self.model.tickets)))]
        c = self.model.counters[number]
        ok = c.status == "open" and c.current is None and t.state in ("waiting", "parked")
        result = self.run(d.CallTicket(number, t.id))
        assert (result is not None) == ok
        if ok:
            self.model.call(number, t)

    @rule(number=COUNTERS)
    def recall(self, number):
        t = self.model.current(number, "called")
        assert (self.run(d.Recall(number)) is not None) == (t is not None)
        if t:
            t.recalls += 1

    @rule(number=COUNTERS)
    def start(self, number):
        t = self.model.current(number, "called")
        assert (self.run(d.StartService(number)) is not None) == (t is not None)
        if t:
            t.state = "serving"

    @rule(number=COUNTERS, outcome=st.sampled_from(["resolved", "forwarded", "returned"]))
    def complete(self, number, outcome):
        t = self.model.current(number, "called", "serving")  # from "called" too: no separate start needed
        to = "Sở Tư pháp" if outcome == "forwarded" else None
        assert (self.run(d.Complete(number, outcome, to)) is not None) == (t is not None)
        if t:
            self.model.release(number)
            t.state, t.served_by = "done", number

    @rule(number=COUNTERS, requeue=st.booleans())
    def no_show(self, number, requeue):
        t = self.model.current(number, "called")
        ok = t is not None and t.recalls >= self.config.rules.min_recalls_before_no_show
        assert (self.run(d.NoShow(number, requeue)) is not None) == ok
        if ok:
            self.model.release(number)
            if requeue:
                self.model.enqueue(t)
            else:
                t.state = "no_show"

    @rule(
        number=COUNTERS, to_service=st.sampled_from([None, "A", "B", "C"]), to_counter=st.sampled_from([None, 1, 2, 3])
    )
    def transfer(self, number, to_service, to_counter):
        t = self.model.current(number, "called", "serving")
        ok = t is not None and to_counter != number
        if ok and to_counter is None:
            ok = to_service is not None and to_service != t.service
        assert (self.run(d.Transfer(number, to_service, to_counter)) is not None) == ok
        if ok:
            self.model.release(number)
            t.service = to_service or t.service
            t.directed = to_counter
            self.model.enqueue(t)

    @rule(number=COUNTERS)
    def park(self, number):
        t = self.model.current(number, "called", "serving")
        assert (self.run(d.Park(number)) is not None) == (t is not None)
        if t:
            self.model.release(number)
            t.state = "parked"

    @rule(data=st.data())
    def unpark_or_cancel(self, data):
        if not self.model.tickets:
            return
        t = self.model.tickets[data.draw(st.sampled_from(sorted(self.model.tickets)))]
        if data.draw(st.booleans()):
            ok = t.state == "parked"
            assert (self.run(d.Unpark(t.id)) is not None) == ok
            if ok:
                self.model.enqueue(t)
        else:
            ok = t.state in ("waiting", "parked")
            assert (self.run(d.Cancel(t.id)) is not None) == ok
            if ok:
                t.state = "cancelled"

    @rule(data=st.data(), score=st.integers(1, 5))
    def rate(self, data, score):
        if not self.model.tickets:
            return
        t = self.model.tickets[data.draw(st.sampled_from(sorted(self.model.tickets)))]
        ok = t.state == "done" and not t.rated
        assert (self.run(d.Rate(t.id, score)) is not None) == ok
        if ok:
            t.rated = True

    # -- the gateway restarts -------------------------------------------------------------------
    @precondition(lambda self: self.issued > 0)
    @rule()
    def restart(self):
        before = self.core.state.snapshot()
        self.core.close()
        self.core = Dispatcher.open(self.config, self.path)
        assert self.core.state.snapshot() == before

    # -- invariants -----------------------------------------------------------------------------------
    @invariant()
    def same_tickets_in_the_same_states(self):
        core = self.core.state
        assert {k: t.state for k, t in core.tickets.items()} == {k: t.state for k, t in self.model.tickets.items()}
        for k, t in self.model.tickets.items():
            assert (core.tickets[k].service, core.tickets[k].counter) == (t.service, t.counter)

    @invariant()
    def each_number_once_none_skipped(self):
        for code in "ABC":
            numbers = sorted(t.number for t in self.core.state.tickets.values() if t.id[0] == code)
            assert numbers == list(range(1, len(numbers) + 1))
            assert all(t.id == f"{t.id[0]}{t.number:03d}" for t in self.core.state.tickets.values())

    @invariant()
    def a_ticket_at_one_counter_at_most(self):
        currents = [c.current for c in self.core.state.counters.values() if c.current is not None]
        assert len(currents) == len(set(currents))
        for number, c in self.core.state.counters.items():
            if c.current is not None:
                assert self.core.state.tickets[c.current].counter == number
                assert self.core.state.tickets[c.current].state in ("called", "serving")

    @invariant()
    def waiting_counts_match(self):
        for code, q in self.core.state.queues.items():
            waiting = [t for t in self.model.tickets.values() if t.state == "waiting" and t.service == code]
            assert q.waiting == len(waiting)
            assert q.waiting_priority == sum(t.priority for t in waiting)


class RatioDispatchMachine(DispatchMachine):
    dispatch_rules: ClassVar[dict] = {"priority_mode": "ratio", "priority_limit": 2, "starvation_minutes": 5}


SETTINGS = settings(
    max_examples=120, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DispatchMachine.TestCase.settings = SETTINGS
RatioDispatchMachine.TestCase.settings = SETTINGS
test_dispatch_matches_the_reference_model = DispatchMachine.TestCase
test_dispatch_in_ratio_mode_matches_the_reference_model = RatioDispatchMachine.TestCase
