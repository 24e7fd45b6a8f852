"""The estimated wait printed on a new ticket: a range, or honestly unknown.

The estimate has two parts (docs/dispatch.md, "The wait estimate").

1. A point: the expected path of the hall from now. Every open counter becomes free when its
   current citizen is expected to finish (or at once); each time one is free it takes, from its
   highest tier with anyone waiting, the service with the most people waiting, and is free again
   a mean counter time later. The point is when the new ticket is taken. Counts, not tickets,
   are played forward, with the arrivals of the last hour going on at their rate for
   LOOKAHEAD_S (priority arrivals of the ticket's own service, which go before it, and every
   other service's, which take the shared counters). A priority ticket waits behind the
   priority tickets before it, the normal tickets that have waited longer than the starvation
   guard, and its share of the rest through the counters' priority budget. A counter time is a
   service's mean from the call to the completion over today once `eta_min_samples` are done,
   else its `prior_minutes`; with neither, or no open counter for the service, the estimate is
   unknown. With more than MAX_AHEAD people ahead, or more people waiting and about to arrive
   than MAX_STEPS counter turns would take (a queue far longer than a hall holds), the point is
   the fluid one, `(ahead + ½) × counter time ÷ capacity`: the cost of an estimate stays bounded.
2. A range calibrated on today: every ticket's real wait, once it is called, gives its error
   against its point in units of `scale(point)` (which grows as the square root of the point: a
   sum of many counter times is relatively surer than one), kept sorted, priority and normal
   tickets apart. The range is the point plus the LOW_QUANTILE and HIGH_QUANTILE of those
   errors times the scale, so that 80 % of waits fall inside it; until CALIBRATION_MIN tickets
   of the kind have been called it uses DEFAULT_ERRORS. Bounds are rounded outward to whole
   minutes up to 30, to whole 5 minutes above; the low bound is at least a minute when people
   are ahead and every open counter for the service is busy.
"""

from __future__ import annotations

import heapq
import math

from .state import OPEN, WAITING, State

CALIBRATION_MIN = 20
DEFAULT_ERRORS = (-1.5, 2.0)  # in units of scale(point), before today has CALIBRATION_MIN calls
LOW_QUANTILE, HIGH_QUANTILE = 0.085, 0.915
SCALE_MIN = 2.0  # minutes: the spread of a wait no one is ahead for
LOOKAHEAD_S = 15 * 60.0  # how long today's arrival rate is played forward
RATE_WINDOW_S = 3600.0  # the arrivals the rate is taken over
MAX_AHEAD = 400  # people ahead past which the path is not played: the fluid point is used
MAX_STEPS = 1000  # counter turns played forward at most: past it, the fluid point
FINE_UNTIL_MIN = 30  # bounds in whole minutes up to here, whole STEP_MIN above
STEP_MIN = 5
IDLE_RECHECK_S = 60.0  # a counter with no one to take looks again this much later

Estimate = tuple[int | None, int | None, float | None]  # (low, high, point), minutes


def scale(point: float) -> float:
    """The unit of a wait's error for a given point, in minutes."""
    return math.sqrt((max(point, 0.0) + SCALE_MIN) * SCALE_MIN)


def estimate(state: State, service: str, ahead: int, now: float, priority: bool = False) -> Estimate:
    """The range for a new ticket of `service` with `ahead` people before it in its queue."""
    means = {code: _counter_time(state, code) for code in state.services}
    if means[service] is None or state.capacity[service] <= 0.0:
        return None, None, None
    point = _expected_path(state, service, ahead, now, priority, means)
    if point is None:
        point = _fluid(state, service, ahead, means)
    return _range(state, service, ahead, point, priority)


def queue_estimates(state: State, now: float) -> dict[str, list[Estimate]]:
    """The range for each place of each service's queue as it stands (the live page shows one
    per waiting ticket): one expected path for all, without arrivals, so a snapshot costs one
    pass over the queue, not one per ticket. Places the path does not reach within MAX_STEPS
    take the fluid point."""
    means = {code: _counter_time(state, code) for code in state.services}
    waiting = {code: float(q.waiting) for code, q in state.queues.items()}
    taken: dict[str, list[float]] = {code: [] for code in state.services}
    free = _free_counters(state, now, means)
    for _ in range(MAX_STEPS):
        if not free:
            break
        at, number = heapq.heappop(free)
        chosen = _take(state.counters[number].tiers, waiting)
        if chosen is None:
            continue  # nothing more for this counter: nobody arrives on this path
        taken[chosen].append((at - now) / 60.0)
        waiting[chosen] -= 1.0
        heapq.heappush(free, (at + (means[chosen] or 0.0) * 60.0, number))
    out: dict[str, list[Estimate]] = {}
    for code, q in state.queues.items():
        if means[code] is None or state.capacity[code] <= 0.0:
            out[code] = [(None, None, None)] * q.waiting
            continue
        points = taken[code] + [_fluid(state, code, k, means) for k in range(len(taken[code]), q.waiting)]
        out[code] = [_range(state, code, k, points[k], k < q.waiting_priority) for k in range(q.waiting)]
    return out


def _fluid(state: State, service: str, ahead: int, means: dict[str, float | None]) -> float:
    return (ahead + 0.5) * (means[service] or 0.0) / state.capacity[service]


def _range(state: State, service: str, ahead: int, point: float, priority: bool) -> Estimate:
    """The point's range from today's calibration, rounded outward."""
    errors = state.eta_errors[priority]
    n = len(errors)
    if n >= CALIBRATION_MIN:
        low_e, high_e = errors[int(LOW_QUANTILE * (n - 1))], errors[math.ceil(HIGH_QUANTILE * (n - 1))]
    else:
        low_e, high_e = DEFAULT_ERRORS
    unit = scale(point)
    low, high = max(0.0, point + low_e * unit), max(0.0, point + high_e * unit)
    step = 1 if high <= FINE_UNTIL_MIN else STEP_MIN
    low_i, high_i = int(low // step * step), math.ceil(high / step) * step
    if low_i == 0 and ahead > 0 and _all_busy(state, service):
        low_i = 1
    return low_i, max(high_i, low_i + step), point


def _counter_time(state: State, code: str) -> float | None:
    s = state.stats[code]
    if s.served >= state.config.rules.eta_min_samples:
        return s.mean_min
    return state.services[code].prior_minutes


def _all_busy(state: State, service: str) -> bool:
    serving = [c for c in state.counters.values() if c.status == OPEN and any(service in t for t in c.tiers)]
    return bool(serving) and all(c.current is not None for c in serving)


def _expected_path(state: State, service: str, ahead: int, now: float, priority: bool,
                   means: dict[str, float | None]) -> float | None:  # fmt: skip
    """Minutes until the new ticket is taken, counts played forward; None past the bounds."""
    if ahead > MAX_AHEAD:
        return None
    waiting = {code: float(q.waiting) for code, q in state.queues.items()}
    rates = state.arrival_rates(now, RATE_WINDOW_S)
    if sum(waiting.values()) + sum(rates.values()) * LOOKAHEAD_S > MAX_STEPS:
        return None  # more turns than the bound would be played: the fluid point
    mine = ahead + 1.0
    if priority:
        mine += _priority_place(state, service, ahead, now)
    waiting[service] = mine
    rates[service] = state.arrival_rates(now, RATE_WINDOW_S, priority_only=True)[service]
    free = _free_counters(state, now, means)
    played_to = now
    for _ in range(MAX_STEPS):
        at, number = heapq.heappop(free)
        horizon = min(at, now + LOOKAHEAD_S)
        if horizon > played_to:
            for code, rate in rates.items():
                waiting[code] += rate * (horizon - played_to)
            played_to = horizon
        chosen = _take(state.counters[number].tiers, waiting)
        if chosen is None:
            heapq.heappush(free, (at + IDLE_RECHECK_S, number))
            continue
        if chosen == service and waiting[service] < 2.0:
            return (at - now) / 60.0
        waiting[chosen] = max(0.0, waiting[chosen] - 1.0)
        heapq.heappush(free, (at + (means[chosen] or 0.0) * 60.0, number))
    return None


def _take(tiers: tuple[tuple[str, ...], ...], waiting: dict[str, float]) -> str | None:
    """The service a free counter takes: its highest tier with anyone waiting, the fullest there."""
    for tier in tiers:
        best = None
        for code in tier:
            if waiting[code] >= 1.0 and (best is None or waiting[code] > waiting[best]):
                best = code
        if best is not None:
            return best
    return None


def _free_counters(state: State, now: float, means: dict[str, float | None]) -> list[tuple[float, int]]:
    """The open counters as a heap of (when free, number): where both paths start."""
    free = [(_free_at(state, c.current, now, means), c.number) for c in state.counters.values() if c.status == OPEN]
    heapq.heapify(free)
    return free


def _free_at(state: State, current: str | None, now: float, means: dict[str, float | None]) -> float:
    """When a counter is expected to be free: its citizen's mean counter time after the call,
    and at least 30 s from now for one already past it."""
    if current is None:
        return now
    t = state.tickets[current]
    mean = means[t.service] or 0.0
    return max(now + 30.0, (t.called_at or now) + mean * 60.0)


def _priority_place(state: State, service: str, ahead: int, now: float) -> float:
    """How many normal tickets a new priority ticket waits behind: those waiting since before
    the starvation guard, and a share of the rest through the priority budget."""
    rules = state.config.rules
    guard = now - rules.starvation_minutes * 60.0
    q = state.queues[service]
    older = sum(1 for at, token, t in q.normal if t.state == WAITING and t.token == token and at < guard)
    normal = q.waiting - q.waiting_priority
    return older + max(0, normal - older) / (rules.priority_limit + 1)
