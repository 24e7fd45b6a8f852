"""Who is called next at a counter: the rule of docs/dispatch.md, in one place.

1. A ticket sent to this counter by a transfer goes first, oldest first.
2. Otherwise the counter's highest work-profile tier with anyone waiting.
3. Within that tier: the oldest normal ticket if it has waited at least
   `starvation_minutes` (the starvation guard); else the oldest priority
   ticket if the counter's priority budget allows one; else the oldest normal
   ticket; a priority ticket is still called when no normal one waits.
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


def pick_next(state: State, c: CounterState, now: float) -> Ticket | None:
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
        if norm is not None:
            if (
                pri is None
                or now - norm.arrived_at >= rules.starvation_minutes * 60.0
                or not priority_allowed(c, rules)
            ):
                return norm
            return pri
        if pri is not None:
            return pri
    return None
