"""A simulated business day at one center, driven through the dispatch core.

Citizens arrive over office hours (07:30–11:30 and 13:30–17:00) with a
morning peak; staff open their counters, call the next number, wait for the
citizen to walk up, serve, and finish with an outcome. At 11:30 and 17:00 a
counter keeps serving whoever is already waiting for it and pauses (lunch) or
closes (evening) once nobody is left: nobody who took a number is sent home.
Everything is decided by the real core; the simulation only plays the
people and the clock. `handle` is the core's in-memory `handle` or a
durable Dispatcher's, so the same day can be journaled.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from .config import CenterConfig
from .dispatch import (
    CallNext,
    CloseCounter,
    Command,
    Complete,
    Decision,
    IssueTicket,
    NoShow,
    OpenCounter,
    PauseCounter,
    Rate,
    Recall,
    StartService,
)
from .dispatch.eta import HIGH_QUANTILE, LOW_QUANTILE
from .dispatch.events import TicketCalled, TicketIssued
from .dispatch.state import DONE, State

# Share of a day's arrivals in each half hour from 07:30 (index 0) to 16:30.
HALF_HOUR_WEIGHTS = {
    "07:30": 8, "08:00": 14, "08:30": 16, "09:00": 15, "09:30": 12, "10:00": 10, "10:30": 7, "11:00": 4,
    "13:30": 6, "14:00": 7, "14:30": 6, "15:00": 5, "15:30": 4, "16:00": 3, "16:30": 2,
}  # fmt: skip
SERVICE_MIX = {"A": 35, "B": 20, "C": 10, "D": 5, "E": 15, "F": 15}
FORWARD_TO = {
    "B": "Sở Tư pháp",
    "C": "Chi nhánh Văn phòng đăng ký đất đai",
    "D": "Sở Tài chính",
    "E": "Bảo hiểm xã hội",
    "F": "Công an phường",
}
DEFAULT_FORWARD = "Ủy ban nhân dân tỉnh"
PRESSES = 3  # a citizen whose press printed nothing presses again; the key makes it one ticket


@dataclass(slots=True)
class Profile:
    """Who comes and how they behave; defaults follow ../shared/context.md."""

    citizens: int = 300
    priority_share: float = 0.10
    no_show_share: float = 0.04
    forwarded_share: float = 0.25
    returned_share: float = 0.05
    rating_share: float = 0.6
    service_sigma: float = 0.5  # lognormal spread of service times
    walk_s: tuple[float, float] = (20.0, 60.0)
    recall_every_s: float = 30.0
    mix: dict[str, float] = field(default_factory=lambda: dict(SERVICE_MIX))
    staffed: frozenset[int] | None = (
        None  # the counters simulated clerks work (None: all); the demo leaves one to a visitor
    )


class _Day:
    """The event loop of the simulation: a heap of (time, order, action)."""

    def __init__(
        self, config: CenterConfig, handle: Callable[[Command, float], Decision], profile: Profile, seed: int, day: date
    ):
        self.config, self.handle, self.p = config, handle, profile
        self.day = day.isoformat()  # in every press's key: a journal holds many days, and a key is once for all
        self.rng = random.Random(seed)
        self.agenda: list = []
        self.order = 0
        self.idle: set[int] = set()
        self.open: set[int] = set()
        self.no_shows: set[str] = set()

    def at(self, when: float, action: Callable[[float], None]) -> None:
        self.order += 1
        heapq.heappush(self.agenda, (when, self.order, action))

    def run(self, pace: Callable[[float], None] | None = None) -> None:
        while self.agenda:
            when, _, action = heapq.heappop(self.agenda)
            if pace is not None:
                pace(when)
            action(when)

    # -- staff ---------------------------------------------------------------
    def call(self, counter: int, now: float) -> None:
        if counter not in self.open:
            return
        d = self.handle(CallNext(counter), now)
        called = [e for e in d.events if isinstance(e, TicketCalled)]
        if not called:
            self.idle.add(counter)
            return
        self.idle.discard(counter)
        ticket = called[0].ticket
        if ticket in self.no_shows:
            self._recall(counter, 0, now)
        else:
            self.at(now + self.rng.uniform(*self.p.walk_s), lambda t: self._start(counter, ticket, t))

    def _recall(self, counter: int, done: int, now: float) -> None:
        if done >= self.config.rules.min_recalls_before_no_show:
            self.handle(NoShow(counter), now)
            self.call(counter, now)
            return
        self.at(now + self.p.recall_every_s, lambda t: self._recall_once(counter, done, t))

    def _recall_once(self, counter: int, done: int, now: float) -> None:
        self.handle(Recall(counter), now)
        self._recall(counter, done + 1, now)

    def _start(self, counter: int, ticket: str, now: float) -> None:
        self.handle(StartService(counter), now)
        service = ticket[0]
        mean_s = (self.config_service_minutes(service)) * 60.0
        sigma = self.p.service_sigma
        duration = self.rng.lognormvariate(math.log(mean_s) - sigma * sigma / 2, sigma)
        self.at(now + duration, lambda t: self._complete(counter, ticket, t))

    def config_service_minutes(self, code: str) -> float:
        for s in self.config.services:
            if s.code == code:
                return s.prior_minutes or 10.0
        return 10.0

    def _complete(self, counter: int, ticket: str, now: float) -> None:
        r = self.rng.random()
        if r < self.p.forwarded_share:
            cmd = Complete(counter, "forwarded", FORWARD_TO.get(ticket[0], DEFAULT_FORWARD))
        elif r < self.p.forwarded_share + self.p.returned_share:
            cmd = Complete(counter, "returned")
        else:
            cmd = Complete(counter, "resolved")
        self.handle(cmd, now)
        if self.rng.random() < self.p.rating_share:
            score = self.rng.choices((5, 4, 3, 2, 1), (55, 30, 9, 4, 2))[0]
            self.handle(Rate(ticket, score), now + 5)
        self.call(counter, now)

    def wake_idle(self, now: float) -> None:
        for counter in sorted(self.idle):
            self.call(counter, now)

    # -- citizens ------------------------------------------------------------
    def arrive(self, now: float, index: int) -> None:
        p = self.p
        services = [s for s in p.mix if any(s == x.code for x in self.config.services)]
        service = self.rng.choices(services, [p.mix[s] for s in services])[0]
        priority = None
        if self.config.priority_classes and self.rng.random() < p.priority_share:
            priority = self.rng.choice(self.config.priority_classes).code
        press = IssueTicket(service, priority, source="kiosk-sim", key=f"sim:{self.day}:{index}")
        issued = None
        for attempt in range(PRESSES):  # no ticket came out (an ack lost): press again, the same key
            d = self.handle(press, now + attempt * 2.0)
            issued = next((e for e in d.events if isinstance(e, TicketIssued)), None)
            if issued is not None:
                break
        if issued is None:
            return  # the kiosk gave nothing: this person leaves (the demo's log says why)
        if self.rng.random() < p.no_show_share:
            self.no_shows.add(issued.ticket)
        self.wake_idle(now)


def _arrival_times(day: date, tz: ZoneInfo, n: int, rng: random.Random) -> list[float]:
    slots = list(HALF_HOUR_WEIGHTS)
    weights = list(HALF_HOUR_WEIGHTS.values())
    times = []
    for slot in rng.choices(slots, weights, k=n):
        hh, mm = map(int, slot.split(":"))
        start = datetime.combine(day, time(hh, mm), tz).timestamp()
        times.append(start + rng.uniform(0, 1800))
    return sorted(times)


def simulate_day(
    config: CenterConfig,
    handle: Callable[[Command, float], Decision],
    day: date,
    profile: Profile | None = None,
    seed: int = 1,
    pace: Callable[[float], None] | None = None,
) -> None:
    """Play one business day through `handle`; the caller keeps the state. `pace(t)` is called
    before each action at simulated time t: the demo waits there for its clock (rig/people.py)."""
    profile = profile or Profile()
    tz = ZoneInfo(config.timezone)
    sim = _Day(config, handle, profile, seed, day)
    counters = [c for c in config.counters if profile.staffed is None or c.number in profile.staffed]
    sim.idle = {c.number for c in counters}

    def clock(hh: int, mm: int) -> float:
        return datetime.combine(day, time(hh, mm), tz).timestamp()

    def open_all(now: float) -> None:
        for c in counters:
            handle(OpenCounter(c.number), now)
            sim.open.add(c.number)
        sim.wake_idle(now)

    def wind_down(command: Callable[[int], Command], until: float = math.inf) -> Callable[[float], None]:
        def step(now: float) -> None:
            for counter in sorted(sim.idle & sim.open):
                handle(command(counter), now)
                sim.open.discard(counter)
            if sim.open and now + 60 < until:
                sim.at(now + 60, step)

        return step

    sim.at(clock(7, 30) - 60, open_all)
    for i, t in enumerate(_arrival_times(day, tz, profile.citizens, sim.rng)):
        sim.at(t, lambda now, i=i: sim.arrive(now, i))
    sim.at(clock(11, 30) + 1, wind_down(PauseCounter, until=clock(13, 30) - 60))
    sim.at(clock(13, 30) - 60, open_all)
    sim.at(clock(17, 0) + 1, wind_down(CloseCounter))
    sim.run(pace)


@dataclass(slots=True)
class ServiceReport:
    code: str
    name: str
    tickets: int = 0
    served: int = 0
    resolved: int = 0
    forwarded: int = 0
    returned: int = 0
    no_shows: int = 0
    waits_min: list[float] = field(default_factory=list)
    in_range: int = 0
    with_range: int = 0

    @property
    def avg_wait(self) -> float | None:
        return sum(self.waits_min) / len(self.waits_min) if self.waits_min else None

    @property
    def p90_wait(self) -> float | None:
        if not self.waits_min:
            return None
        ordered = sorted(self.waits_min)
        return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def day_report(state: State, by_priority: bool = False) -> list[ServiceReport]:
    """Totals of a finished day from the folded state: per service, or priority against normal."""
    if by_priority:
        reports = {True: ServiceReport("ƯT", "Ưu tiên"), False: ServiceReport("TT", "Thông thường")}
    else:
        reports = {s.code: ServiceReport(s.code, s.name) for s in state.config.services}
    for t in state.tickets.values():
        r = reports[t.priority is not None] if by_priority else reports[t.id[0]]
        r.tickets += 1
        if t.state == DONE:
            r.served += 1
            r.resolved += t.outcome == "resolved"
            r.forwarded += t.outcome == "forwarded"
            r.returned += t.outcome == "returned"
        elif t.state == "no_show":
            r.no_shows += 1
        if t.first_called_at is not None:
            wait = max(0.0, t.first_called_at - t.arrived_at) / 60.0
            r.waits_min.append(wait)
            low, high = t.eta
            if low is not None:
                r.with_range += 1
                r.in_range += low <= wait <= high
    return list(reports.values())


def format_report(
    center: CenterConfig, day: date, reports: list[ServiceReport], kinds: list[ServiceReport] = ()
) -> str:
    def minutes(x: float | None) -> str:
        return "–" if x is None else f"{x:.1f}"

    header = ("Dịch vụ", "Số phát", "Đã phục vụ", "Xong tại chỗ", "Chuyển", "Trả lại", "Vắng", "Chờ TB", "Chờ p90")
    rows = [
        (
            f"{r.code} {r.name}",
            str(r.tickets),
            str(r.served),
            str(r.resolved),
            str(r.forwarded),
            str(r.returned),
            str(r.no_shows),
            minutes(r.avg_wait),
            minutes(r.p90_wait),
        )
        for r in reports
    ]
    total = ServiceReport("", "Tổng cộng")
    for r in reports:
        for name in ("tickets", "served", "resolved", "forwarded", "returned", "no_shows", "in_range", "with_range"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.waits_min.extend(r.waits_min)
    rows.append(
        (
            "Tổng cộng",
            *(str(getattr(total, n)) for n in ("tickets", "served", "resolved", "forwarded", "returned", "no_shows")),
            minutes(total.avg_wait),
            minutes(total.p90_wait),
        )
    )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        f"{center.name} — ngày {day.isoformat()} (mô phỏng / simulated day)",
        "Thời gian chờ tính bằng phút, từ lúc lấy số đến lúc được gọi (waits in minutes, ticket to first call).",
        "",
    ]
    for i, row in enumerate((header, *rows)):
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells))
        if i == 0 or i == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
    for k in kinds:
        lines.append(f"{k.name}: {k.tickets} số, chờ TB {minutes(k.avg_wait)}, p90 {minutes(k.p90_wait)} phút")
    if total.with_range:
        share = 100.0 * total.in_range / total.with_range
        lines.append(
            f"Thời gian chờ thực tế nằm trong khoảng in trên phiếu: {share:.0f}% (real wait inside the printed range)"
        )
    return "\n".join(lines)


ETA_NOMINAL = HIGH_QUANTILE - LOW_QUANTILE  # the range's nominal coverage


def eta_scores(states: list[State], nominal: float = ETA_NOMINAL) -> dict[str, float]:
    """How the printed ranges held over finished days, scored so that no useless answer wins:
    the share of real waits (issue to first call) inside (`eta_within_range_pct`), the median
    width, the median of width ÷ max(20 min, midpoint) (`eta_width_ratio`: ≤ 0.5 is a width of at
    most max(10 min, half the midpoint)), the mean error of the midpoint, and the mean interval
    score of Gneiting & Raftery (2007) at the range's nominal coverage: the width, plus 2/α times
    how far outside a wait fell (α = 1 − nominal). Lower is better; a range made wide to cover
    more pays for its width, a narrow one for its misses."""
    alpha = 1.0 - nominal
    waits, widths, ratios, scores, errors = [], [], [], [], []
    for state in states:
        for t in state.tickets.values():
            low, high = t.eta
            if t.first_called_at is None or low is None or high is None:
                continue
            wait = max(0.0, t.first_called_at - t.arrived_at) / 60.0
            waits.append(low <= wait <= high)
            widths.append(high - low)
            ratios.append((high - low) / max(20.0, (low + high) / 2))
            scores.append(interval_score(low, high, wait, alpha))
            errors.append(abs(wait - (low + high) / 2))
    return {"eta_within_range_pct": 100.0 * sum(waits) / len(waits), "eta_median_width_min": _median(widths),
            "eta_width_ratio": _median(ratios), "eta_interval_score_min": sum(scores) / len(scores),
            "eta_mae_min": sum(errors) / len(errors)}  # fmt: skip


def interval_score(low: float, high: float, x: float, alpha: float) -> float:
    """Gneiting & Raftery (2007), eq. 43: the central (1 − α) interval [low, high] against x."""
    return (high - low) + 2.0 / alpha * (max(0.0, low - x) + max(0.0, x - high))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
