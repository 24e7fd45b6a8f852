"""What screens show, computed from the queue's state: pure functions, no I/O.

The hall's TV page, the LED boards and (later) the console and the ticket
status page all read these, so a number never looks different on two screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .dispatch.state import CALLED, SERVING, State

HALL_CALLS = 6


def hall_view(state: State, calls: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """The waiting hall: the latest calls (newest first), who is at each counter, who waits."""
    services = state.config.services
    return {
        "center": state.config.name,
        "day": state.day,
        "calls": [{"ticket": t, "counter": c} for t, c in calls],
        "counters": [
            {"counter": n, "ticket": c.current, "status": c.status}
            for n, c in sorted(state.counters.items())
            if c.current is not None and state.tickets[c.current].state in (CALLED, SERVING)
        ],
        "waiting": [{"code": s.code, "name": s.name, "count": state.queues[s.code].waiting} for s in services],
    }


def counter_view(state: State, counter: int) -> dict[str, Any]:
    """A counter's 4-digit display."""
    c = state.counters[counter]
    return {"text": c.current or "", "status": c.status}


def add_call(calls: list[tuple[str, int]], call: tuple[str, int], limit: int = HALL_CALLS) -> list[tuple[str, int]]:
    """The calls with a new one first; a recall moves its call back to the top."""
    return [call, *(c for c in calls if c != call)][:limit]


def recent_calls(events: Iterable, limit: int = HALL_CALLS) -> list[tuple[str, int]]:
    """The latest distinct (ticket, counter) calls in a run of events, newest first."""
    calls: list[tuple[str, int]] = []
    for e in events:
        if type(e).__name__ in ("TicketCalled", "TicketRecalled"):
            calls = add_call(calls, (e.ticket, e.counter), limit)
    return calls
