"""The queue's state: a fold of the day's events.

`State.commit` applies events that `decide` returned; applying never fails and
never consults a clock. Waiting tickets sit in binary heaps ordered by
(arrival time, enqueue order), one heap for priority and one for normal
tickets per service, plus one heap per counter for tickets sent to that
counter. A ticket that leaves a queue is not searched for and removed: its
heap entry goes stale (its `token` no longer matches) and is dropped when it
reaches the top. That keeps every operation O(log n) in the number waiting.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from ..config import CenterConfig
from . import events as ev

WAITING = "waiting"
CALLED = "called"
SERVING = "serving"
DONE = "done"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
PARKED = "parked"
UNFINISHED = "unfinished"

ACTIVE = (WAITING, CALLED, SERVING, PARKED)  # not yet at an outcome: the end of the day closes these
FINAL = (DONE, NO_SHOW, CANCELLED, UNFINISHED)  # each issued ticket ends in exactly one of these

OPEN, PAUSED, CLOSED = "open", "paused", "closed"

FIRST_TIER_WEIGHT = 1.0
LOWER_TIER_WEIGHT = 0.5
"""How much of an open counter the wait estimate counts for a service: all of
it where the service is in the counter's first tier, half where it is lower."""


class Ticket:
    """One citizen's number for the day, through every visit to a counter."""

    __slots__ = (
        "id", "service", "number", "priority", "source", "arrived_at", "state",
        "counter", "directed_to", "called_at", "started_at", "ended_at",
        "first_called_at", "recalls", "outcome", "forwarded_to", "rating",
        "rated_counter", "served_by", "transfers", "token", "eta", "eta_point",
    )  # fmt: skip

    def __init__(self, e: ev.TicketIssued):
        self.id, self.service, self.number = e.ticket, e.service, e.number
        self.priority, self.source, self.arrived_at = e.priority, e.source, e.at
        self.state = WAITING
        self.counter = self.directed_to = None
        self.called_at = self.started_at = self.ended_at = self.first_called_at = None
        self.recalls = self.transfers = self.token = 0
        self.outcome = self.forwarded_to = self.rating = self.rated_counter = self.served_by = None
        self.eta = (e.eta_low_min, e.eta_high_min)
        self.eta_point = e.eta_point_min

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "token"}


class CounterState:
    __slots__ = ("number", "tiers", "status", "current", "priority_streak", "normals_since_priority")

    def __init__(self, number: int, tiers: tuple[tuple[str, ...], ...], ratio_start: int):
        self.number, self.tiers = number, tiers
        self.status = CLOSED
        self.current: str | None = None
        self.priority_streak = 0
        self.normals_since_priority = ratio_start

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "tiers"}


@dataclass(slots=True)
class ServiceStats:
    """Today's running sums for one service: what the wait estimate needs.

    A service's time is counted from the call to the completion: how long the
    counter is taken, walking up included, which is what the next citizen waits for.
    """

    issued: int = 0
    served: int = 0
    service_sum_s: float = 0.0
    mean_min: float = 0.0  # kept current on each completion so the estimate is cheap

    def add_service(self, seconds: float) -> None:
        self.served += 1
        self.service_sum_s += seconds
        self.mean_min = self.service_sum_s / self.served / 60.0


@dataclass(slots=True)
class ServiceQueue:
    priority: list = field(default_factory=list)
    normal: list = field(default_factory=list)
    waiting: int = 0
    waiting_priority: int = 0


def head(heap: list) -> Ticket | None:
    """The oldest ticket still waiting in this heap; drops stale entries on the way."""
    while heap:
        entry = heap[0]
        t = entry[2]
        if t.state == WAITING and t.token == entry[1]:
            return t
        heapq.heappop(heap)
    return None


class State:
    def __init__(self, config: CenterConfig):
        self.config = config
        self.services = {s.code: s for s in config.services}
        self.priority_classes = {c.code for c in config.priority_classes}
        self.day: str | None = None
        self.day_ends_at = float("-inf")
        self._reset()

    def _reset(self) -> None:
        ratio_start = self.config.rules.priority_limit
        self.tickets: dict[str, Ticket] = {}
        self.seen: dict[str, tuple[ev.Event, ...]] = {}
        self.next_number = {code: s.first for code, s in self.services.items()}
        self.queues = {code: ServiceQueue() for code in self.services}
        self.directed: dict[int, list] = {c.number: [] for c in self.config.counters}
        self.counters = {c.number: CounterState(c.number, c.tiers, ratio_start) for c in self.config.counters}
        self.stats = {code: ServiceStats() for code in self.services}
        self.capacity = dict.fromkeys(self.services, 0.0)
        # Today's waits against their estimates, in units of eta.scale, sorted; normal and priority.
        self.eta_errors: dict[bool, list[float]] = {False: [], True: []}
        # Today's arrival times per service, all and priority, for the wait estimate's arrival rate.
        self.arrivals: dict[str, list[float]] = {code: [] for code in self.services}
        self.priority_arrivals: dict[str, list[float]] = {code: [] for code in self.services}
        self.last_call_at: float | None = None  # the day's latest call at any counter: a stalled hall (alerts.py)
        self._tokens = 0

    # -- folding ------------------------------------------------------------
    def commit(self, events: tuple[ev.Event, ...] | list[ev.Event], key: str | None = None) -> None:
        """Apply one command's events and remember its key for idempotency."""
        for e in events:
            _APPLY[type(e)](self, e)
        if key is not None and events:
            self.seen[key] = tuple(events)

    def _enqueue(self, t: Ticket) -> None:
        self._tokens += 1
        t.token = self._tokens
        t.state = WAITING
        entry = (t.arrived_at, t.token, t)
        q = self.queues[t.service]
        if t.directed_to is not None:
            heapq.heappush(self.directed[t.directed_to], entry)
        else:
            heapq.heappush(q.priority if t.priority else q.normal, entry)
        q.waiting += 1
        if t.priority:
            q.waiting_priority += 1

    def _dequeue(self, t: Ticket) -> None:
        """Count a waiting ticket out; its heap entry goes stale by itself."""
        q = self.queues[t.service]
        q.waiting -= 1
        if t.priority:
            q.waiting_priority -= 1
        t.token = 0

    def _day_opened(self, e: ev.DayOpened) -> None:
        self.day, self.day_ends_at = e.day, e.ends_at
        self._reset()

    def _issued(self, e: ev.TicketIssued) -> None:
        t = Ticket(e)
        self.tickets[t.id] = t
        self.next_number[t.service] = e.number + 1
        self.stats[t.service].issued += 1
        self.arrivals[t.service].append(t.arrived_at)
        if t.priority:
            self.priority_arrivals[t.service].append(t.arrived_at)
        self._enqueue(t)

    def _called(self, e: ev.TicketCalled) -> None:
        t = self.tickets[e.ticket]
        if t.state == WAITING:
            self._dequeue(t)
        t.state, t.counter, t.called_at, t.recalls = CALLED, e.counter, e.at, 0
        t.directed_to = None
        self.last_call_at = e.at
        if t.first_called_at is None:
            t.first_called_at = e.at
            if t.eta_point is not None:
                from .eta import scale  # eta reads this module; the unit is its

                error = (max(0.0, e.at - t.arrived_at) / 60.0 - t.eta_point) / scale(t.eta_point)
                insort(self.eta_errors[t.priority is not None], error)
        c = self.counters[e.counter]
        c.current = t.id
        if t.priority:
            c.priority_streak += 1
            c.normals_since_priority = 0
        else:
            c.priority_streak = 0
            c.normals_since_priority += 1

    def _recalled(self, e: ev.TicketRecalled) -> None:
        self.tickets[e.ticket].recalls = e.recalls

    def _started(self, e: ev.ServiceStarted) -> None:
        t = self.tickets[e.ticket]
        t.state, t.started_at = SERVING, e.at

    def _completed(self, e: ev.TicketCompleted) -> None:
        t = self.tickets[e.ticket]
        t.state, t.ended_at, t.outcome, t.forwarded_to = DONE, e.at, e.outcome, e.forwarded_to
        t.served_by, t.counter = e.counter, None
        self.counters[e.counter].current = None
        self.stats[t.service].add_service(max(0.0, e.at - t.called_at))

    def _no_show(self, e: ev.TicketNoShow) -> None:
        t = self.tickets[e.ticket]
        self.counters[e.counter].current = None
        t.counter = None
        if e.requeued:
            self._enqueue(t)
        else:
            t.state, t.ended_at = NO_SHOW, e.at

    def _transferred(self, e: ev.TicketTransferred) -> None:
        t = self.tickets[e.ticket]
        self.counters[e.counter].current = None
        t.service, t.directed_to, t.counter = e.to_service, e.to_counter, None
        t.transfers += 1
        self._enqueue(t)

    def _parked(self, e: ev.TicketParked) -> None:
        t = self.tickets[e.ticket]
        self.counters[e.counter].current = None
        t.state, t.counter = PARKED, None

    def _unparked(self, e: ev.TicketUnparked) -> None:
        self._enqueue(self.tickets[e.ticket])

    def _cancelled(self, e: ev.TicketCancelled) -> None:
        t = self.tickets[e.ticket]
        if t.state == WAITING:
            self._dequeue(t)
        t.state, t.ended_at = CANCELLED, e.at

    def _unfinished(self, e: ev.TicketUnfinished) -> None:
        t = self.tickets[e.ticket]
        if t.state == WAITING:
            self._dequeue(t)
        if t.counter is not None:
            self.counters[t.counter].current = None
        t.state, t.ended_at, t.counter = UNFINISHED, e.at, None

    def _counter_status(self, e: ev.CounterStatusChanged) -> None:
        self.counters[e.counter].status = e.status
        self.capacity = dict.fromkeys(self.services, 0.0)
        for c in self.counters.values():
            if c.status == OPEN:
                for rank, tier in enumerate(c.tiers):
                    for code in tier:
                        self.capacity[code] += FIRST_TIER_WEIGHT if rank == 0 else LOWER_TIER_WEIGHT

    def _rated(self, e: ev.TicketRated) -> None:
        t = self.tickets[e.ticket]
        t.rating, t.rated_counter = e.score, e.counter

    # -- reading ------------------------------------------------------------
    def waiting_in_order(self, service: str) -> list[str]:
        """Waiting ticket ids of one service, oldest first (priority ones first)."""
        q = self.queues[service]
        return [e[2].id for h in (q.priority, q.normal) for e in sorted(h) if _live(e)]

    def arrival_rates(self, now: float, window_s: float, priority_only: bool = False) -> dict[str, float]:
        """Arrivals per second per service over the `window_s` before `now` (times are in order)."""
        times = self.priority_arrivals if priority_only else self.arrivals
        return {code: (len(ts) - bisect_left(ts, now - window_s)) / window_s for code, ts in times.items()}

    def snapshot(self) -> dict:
        """Everything that defines the state, as plain data: for equality checks."""
        return {
            "day": self.day,
            "tickets": {k: t.snapshot() for k, t in self.tickets.items()},
            "counters": {k: c.snapshot() for k, c in self.counters.items()},
            "next_number": dict(self.next_number),
            "waiting": {s: self.waiting_in_order(s) for s in self.services},
            "directed": {c: [e[2].id for e in sorted(h) if _live(e)] for c, h in self.directed.items()},
            "stats": {s: (x.issued, x.served, round(x.service_sum_s, 6)) for s, x in self.stats.items()},
            "eta_errors": {k: [round(r, 9) for r in v] for k, v in self.eta_errors.items()},
            "last_call_at": self.last_call_at,
            "seen": sorted(self.seen),
        }


def _live(entry: tuple) -> bool:
    return entry[2].state == WAITING and entry[2].token == entry[1]


_APPLY = {
    ev.DayOpened: State._day_opened,
    ev.TicketIssued: State._issued,
    ev.TicketCalled: State._called,
    ev.TicketRecalled: State._recalled,
    ev.ServiceStarted: State._started,
    ev.TicketCompleted: State._completed,
    ev.TicketNoShow: State._no_show,
    ev.TicketTransferred: State._transferred,
    ev.TicketParked: State._parked,
    ev.TicketUnparked: State._unparked,
    ev.TicketCancelled: State._cancelled,
    ev.TicketUnfinished: State._unfinished,
    ev.CounterStatusChanged: State._counter_status,
    ev.TicketRated: State._rated,
}
