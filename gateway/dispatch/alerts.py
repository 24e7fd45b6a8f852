"""What the queue itself tells a leader: too many waiting, a wait too long, a hall where nobody calls.

Pure: the state and `now` in (the thresholds are the center's `[alerts]`, gateway/config.py
AlertRules), the alerts now out. The gateway's shell logs each when it starts and ends, lists them
on the fleet page and in `hangcho-gateway devices`, and sends them to the province in the live
snapshot (contracts/sync.py QUEUE_ALERT_KEYS: a service's code, or null for the whole center).

Each figure must be above its threshold. An overload or a long wait is raised whenever people
wait, whatever the hour: they are in the hall. A stall is raised during opening hours only, and
whether counters are open or not: people waiting and nobody calling is what a leader must know,
and every counter closed is its worst case, which the message says. Its minutes count from the
latest of the day's last call, the start of the current opening span (a lunch break is no stall)
and the arrival of the one waiting longest (a hall empty for an hour is no stall either). Once the
business day is over its waiting tickets are unfinished, whether the core has closed them yet
(at the next day's first command) or not, so there is nothing to raise.
"""

from __future__ import annotations

from typing import Any

from contracts.sync import MAX_NAME, QUEUE_ALERTS

from ..numbers import vi_int
from .businessday import opening_since
from .state import OPEN, WAITING, State, Ticket

OVERLOAD, LONG_WAIT, STALL = QUEUE_ALERTS


def queue_alerts(state: State, now: float) -> list[dict[str, Any]]:
    """The queue's alerts at `now`: {"service": code or None, "kind", "message"} each, the
    center's before its services'."""
    if state.day is None or now >= state.day_ends_at:
        return []
    total = sum(q.waiting for q in state.queues.values())
    if total <= 0:
        return []
    c, rules = state.config, state.config.alerts
    alerts = []
    if total > rules.waiting:
        alerts.append(_alert(None, OVERLOAD, f"Đang có {vi_int(total)} người chờ (ngưỡng {vi_int(rules.waiting)})"))
    for code, q in state.queues.items():
        if q.waiting > rules.service_waiting:
            limit = vi_int(rules.service_waiting)
            text = f"Đang có {vi_int(q.waiting)} người chờ {_service(state, code)} (ngưỡng {limit})"
            alerts.append(_alert(code, OVERLOAD, text))
    oldest = _oldest_waiting(state)
    if oldest is None:  # the counts said someone waits; no ticket does (cannot happen): nothing to say
        return alerts
    waited = int((now - oldest.arrived_at) // 60)
    if waited > rules.longest_wait_minutes:
        text = (f"Chờ lâu nhất {vi_int(waited)} phút: số {oldest.id}, {_service(state, oldest.service)} "
                f"(ngưỡng {vi_int(rules.longest_wait_minutes)} phút)")  # fmt: skip
        alerts.append(_alert(oldest.service, LONG_WAIT, text))
    opened = opening_since(now, c.timezone, c.opening_hours, c.open_days)
    if opened is not None:
        quiet_from = max(opened, oldest.arrived_at, state.last_call_at if state.last_call_at is not None else opened)
        quiet = int((now - quiet_from) // 60)
        if quiet > rules.stall_minutes:
            text = f"Có người chờ nhưng {vi_int(quiet)} phút chưa gọi số nào"
            if not any(counter.status == OPEN for counter in state.counters.values()):
                text += "; không quầy nào mở"
            alerts.append(_alert(None, STALL, text))
    return alerts


def alert_key(alert: dict[str, Any]) -> tuple[str, str]:
    """What an alert is about and its kind, board's or queue's: the same key while it lasts."""
    if "device" in alert:
        return alert["device"], alert["kind"]
    return f"service:{alert['service'] or '*'}", alert["kind"]


def _alert(service: str | None, kind: str, message: str) -> dict[str, Any]:
    return {"service": service, "kind": kind, "message": message[: 2 * MAX_NAME]}


def _service(state: State, code: str) -> str:
    return f"dịch vụ {code} – {state.services[code].name}"


def _oldest_waiting(state: State) -> Ticket | None:
    """The ticket waiting longest; a scan of the day's tickets, as the live snapshot's, at most
    a few times a minute and never on a board's press."""
    oldest = None
    for t in state.tickets.values():
        if t.state == WAITING and (oldest is None or t.arrived_at < oldest.arrived_at):
            oldest = t
    return oldest
