"""Who is called next at a counter: the rule of docs/dispatch.md, in one place.

1. A ticket sent to this counter by a transfer goes first, oldest first.
2. Otherwise the counter's highest work-profile tier with anyone waiting.
3. Within that tier, the oldest priority ticket P goes before the oldest
   normal ticket N if P arrived first, or if the counter's priority budget
   allows a jump and N had not yet waited `starvation_minutes` when P arrived
   (the starvation guard: a priority ticket overtakes only normal tickets that
   arrived less than that before it). Otherwise N goes first. P is still
   called when no normal ticket waits.

The guard compares arrival times rather than N's wait at the time of the
call: in a backlog every normal ticket at the head has waited long, and a
guard on "has waited S minutes now" would send every priority ticket to the
back of the queue, behind normal tickets that came after it.
"""

from __future__ import annotations

from ..config import DispatchRules
from .state import CounterState, State, Ticket, head


def priority_allowed(c: CounterState, rules: DispatchRules) -> bool:
    """The counter's budget: K priority calls in a row, or one per N normal calls."""
    if rules.priority_mode == "in_row":
        return c.priority_streak < rules.priority_limit
    return c.normals_since_priority >= rules.priority_limit


def _older(a: Ticket | None, b: Ticket | None) -> Ticket | None:
    if a is None:
        return b
    if b is None or (a.arrived_at, a.token) < (b.arrived_at, b.token):
        return a
    return b


def pick_next(state: State, c: CounterState) -> Ticket | None:
    t = head(state.directed[c.number])
    if t is not None:
        return t
    rules = state.config.rules
    queues = state.queues
    for tier in c.tiers:
        pri = norm = None
        for code in tier:
            q = queues[code]
            if q.waiting:
                if q.waiting_priority:
                    pri = _older(head(q.priority), pri)
                norm = _older(head(q.normal), norm)
        if pri is not None and (
            norm is None
            or _older(pri, norm) is pri  # first come, first served: no jump, no budget needed
            or (norm.arrived_at + rules.starvation_minutes * 60.0 > pri.arrived_at and priority_allowed(c, rules))
        ):
            return pri
        if norm is not None:
            return norm
    return None
