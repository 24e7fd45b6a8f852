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
    """The waiting hall: the latest calls (newest first, a priority one with its class's name), who
    is at each counter, who waits."""
    services = state.config.services
    classes = {p.code: p.name for p in state.config.priority_classes}

    def priority(ticket: str) -> str | None:
        t = state.tickets.get(ticket)
        return classes.get(t.priority) if t is not None and t.priority else None

    return {
        "center": state.config.name,
        "day": state.day,
        "calls": [{"ticket": t, "counter": c, "priority": priority(t)} for t, c in calls],
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


STATE_TEXT = {
    "waiting": "Đang chờ",
    "called": "Đã gọi — mời đến quầy {counter}",
    "serving": "Đang được phục vụ tại quầy {counter}",
    "done": "Đã hoàn tất",
    "no_show": "Đã qua lượt (vắng mặt khi được gọi)",
    "cancelled": "Đã hủy",
    "parked": "Tạm hoãn — vui lòng liên hệ quầy",
    "unfinished": "Chưa hoàn tất — ngày làm việc đã kết thúc",
}


def ticket_view(state: State, day: str, ticket_id: str, now: float) -> dict[str, Any] | None:
    """A citizen's ticket, for its status page: no personal data, only the queue.

    People ahead counts the waiting tickets of the same service that the routing rule would call
    first if nothing else changed: for a priority ticket the older priority ones, for a normal
    ticket every waiting priority one and the older normal ones. Its wait is the one the live
    snapshot gives the same place (eta.queue_estimates), so the gateway's page and the
    province's agree.
    """
    from .dispatch.eta import queue_estimates

    t = state.tickets.get(ticket_id) if day == state.day else None
    if t is None:
        return None
    view: dict[str, Any] = {
        "ticket": t.id,
        "day": day,
        "service": state.services[t.service].name,
        "state": t.state,
        "text": STATE_TEXT[t.state].format(counter=t.counter),
        "serving": [
            {"counter": n, "ticket": c.current}
            for n, c in sorted(state.counters.items())
            if c.current is not None and state.tickets[c.current].service == t.service
        ],
    }
    if t.state == "waiting":
        ahead = sum(1 for o in state.tickets.values() if o.state == "waiting" and _before(o, t))
        low, high, _ = queue_estimates(state, now)[t.service][ahead]
        view |= {"ahead": ahead, "eta": None if low is None else f"{low}–{high} phút"}
    return view


def _before(o, t) -> bool:
    """Whether waiting ticket o comes before waiting ticket t of the same service."""
    if o is t or o.service != t.service:
        return False
    if bool(o.priority) != bool(t.priority):
        return bool(o.priority)
    return (o.arrived_at, o.token) < (t.arrived_at, t.token)
