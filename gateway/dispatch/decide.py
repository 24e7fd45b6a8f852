"""Commands in, events out: the decisions of the dispatch core.

`decide(state, command, now)` reads the state and returns the events the
command causes, or raises a DispatchError; it never changes the state. The
caller makes the events durable, then folds them in with `state.commit`.
Every check happens before any event is built, so a refusal leaves nothing
behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import commands as cmd
from . import events as ev
from .businessday import day_of
from .errors import (
    IllegalTransition,
    MalformedCommand,
    NumberRangeExhausted,
    UnknownCounter,
    UnknownPriorityClass,
    UnknownService,
    UnknownTicket,
)
from .eta import estimate
from .routing import pick_next
from .state import (
    ACTIVE,
    CALLED,
    CANCELLED,
    CLOSED,
    DONE,
    NO_SHOW,
    OPEN,
    PARKED,
    PAUSED,
    SERVING,
    UNFINISHED,
    WAITING,
    CounterState,
    State,
    Ticket,
)


@dataclass(slots=True)
class Decision:
    events: tuple[ev.Event, ...]
    duplicate: bool = False  # the key was seen: these are the first time's events


def decide(state: State, command: cmd.Command, now: float) -> Decision:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise MalformedCommand("Lệnh không được hỗ trợ", f"unknown command {type(command).__name__}")
    key = command.key
    if key is not None:
        if type(key) is not str or not key:
            raise MalformedCommand("Khóa lệnh không hợp lệ", f"idempotency key must be a non-empty string, got {key!r}")
        prior = state.seen.get(key)
        if prior is not None:
            return Decision(prior, True)
    if (type(now) is not float and type(now) is not int) or not 0 < now < 1e11:  # also refuses nan, inf
        raise MalformedCommand("Thời điểm không hợp lệ", f"now must be epoch seconds, got {now!r}")
    if now >= state.day_ends_at:
        day, ends_at = day_of(now, state.config.timezone)
        if day != state.day:
            opened = ev.DayOpened(now, day, ends_at)
            fresh = State(state.config)
            fresh.commit((opened,))
            return Decision((*_close_day(state), opened, *handler(fresh, command, now)))
    return Decision(handler(state, command, now))


def _close_day(state: State) -> tuple[ev.TicketUnfinished, ...]:
    """The old day's end: every ticket not yet at an outcome ends unfinished, in issue order, timed
    at the day's end (its `ends_at`, the local midnight that began the new day)."""
    return tuple(ev.TicketUnfinished(state.day_ends_at, t.id, t.state)
                 for t in state.tickets.values() if t.state in ACTIVE)  # fmt: skip


def handle(state: State, command: cmd.Command, now: float) -> Decision:
    """Decide and fold in at once: for in-memory use (demo, tests, benchmarks)."""
    d = decide(state, command, now)
    if not d.duplicate:
        state.commit(d.events, command.key)
    return d


# -- lookups that refuse with a reason -------------------------------------
def _counter(state: State, number: object) -> CounterState:
    c = state.counters.get(number) if type(number) is int else None
    if c is None:
        raise UnknownCounter(f"Không có quầy số {number!r}", f"unknown counter {number!r}")
    return c


def _open_counter(state: State, number: object) -> CounterState:
    c = _counter(state, number)
    if c.status != OPEN:
        raise IllegalTransition(
            f"Quầy {number} đang {_STATUS_VI[c.status]}, cần mở quầy trước",
            f"counter {number} is {c.status}; open it first",
        )
    return c


def _current(state: State, number: object, allowed: tuple[str, ...], action: tuple[str, str]) -> Ticket:
    """The ticket at a counter, if its state allows the action (Vietnamese, English)."""
    c = _counter(state, number)
    vi, en = action
    if c.current is None:
        raise IllegalTransition(f"Quầy {number} không có số nào để {vi}", f"counter {number} has no ticket to {en}")
    t = state.tickets[c.current]
    if t.state not in allowed:
        raise IllegalTransition(
            f"Số {t.id} đang ở trạng thái {_STATE_VI[t.state]}, không thể {vi}",
            f"ticket {t.id} is {t.state}; cannot {en}",
        )
    return t


def _ticket(state: State, ticket_id: object) -> Ticket:
    t = state.tickets.get(ticket_id) if type(ticket_id) is str else None
    if t is None:
        raise UnknownTicket(f"Không có số {ticket_id!r} trong ngày", f"no ticket {ticket_id!r} today")
    return t


def _service(state: State, code: object) -> str:
    if type(code) is not str or code not in state.services:
        raise UnknownService(f"Không có dịch vụ {code!r}", f"unknown service {code!r}")
    return code


def _idle(c: CounterState) -> None:
    if c.current is not None:
        raise IllegalTransition(
            f"Quầy {c.number} đang phục vụ số {c.current}; hoàn tất, vắng mặt hoặc chuyển trước",
            f"counter {c.number} still has ticket {c.current}; complete, no-show or transfer it first",
        )


_STATUS_VI = {OPEN: "mở", PAUSED: "tạm dừng", CLOSED: "đóng"}
_STATE_VI = {
    WAITING: "chờ",
    CALLED: "đã gọi",
    SERVING: "đang phục vụ",
    DONE: "đã xong",
    NO_SHOW: "vắng mặt",
    CANCELLED: "đã hủy",
    PARKED: "tạm hoãn",
    UNFINISHED: "chưa hoàn tất",
}


# -- handlers ----------------------------------------------------------------
def _issue(state: State, c: cmd.IssueTicket, now: float) -> tuple[ev.Event, ...]:
    code = _service(state, c.service)
    if c.priority is not None and (type(c.priority) is not str or c.priority not in state.priority_classes):
        raise UnknownPriorityClass(f"Không có diện ưu tiên {c.priority!r}", f"unknown priority class {c.priority!r}")
    if type(c.source) is not str:
        raise MalformedCommand("Nguồn lệnh không hợp lệ", f"source must be a string, got {c.source!r}")
    svc = state.services[code]
    number = state.next_number[code]
    if number > svc.last:
        raise NumberRangeExhausted(
            f"Dịch vụ {code} đã hết số hôm nay ({svc.first}–{svc.last})",
            f"service {code} has used its whole number range {svc.first}–{svc.last} today",
        )
    q = state.queues[code]
    ahead = q.waiting_priority if c.priority else q.waiting
    low, high, point = estimate(state, code, ahead, now, c.priority is not None)
    ticket = f"{code}{number:0{svc.width}d}"
    return (ev.TicketIssued(now, ticket, code, number, c.priority, c.source, ahead, low, high, point),)


def _call_next(state: State, c: cmd.CallNext, now: float) -> tuple[ev.Event, ...]:
    counter = _open_counter(state, c.counter)
    _idle(counter)
    t = pick_next(state, counter)
    return () if t is None else (ev.TicketCalled(now, t.id, counter.number, False),)


def _call_ticket(state: State, c: cmd.CallTicket, now: float) -> tuple[ev.Event, ...]:
    counter = _open_counter(state, c.counter)
    _idle(counter)
    t = _ticket(state, c.ticket)
    if t.state != WAITING and t.state != PARKED:
        raise IllegalTransition(
            f"Số {t.id} đang {_STATE_VI[t.state]}, không thể gọi", f"ticket {t.id} is {t.state}; cannot call it"
        )
    return (ev.TicketCalled(now, t.id, counter.number, True),)


def _recall(state: State, c: cmd.Recall, now: float) -> tuple[ev.Event, ...]:
    t = _current(state, c.counter, (CALLED,), ("gọi lại", "recall"))
    return (ev.TicketRecalled(now, t.id, c.counter, t.recalls + 1),)


def _start(state: State, c: cmd.StartService, now: float) -> tuple[ev.Event, ...]:
    t = _current(state, c.counter, (CALLED,), ("bắt đầu phục vụ", "start"))
    return (ev.ServiceStarted(now, t.id, c.counter),)


def _complete(state: State, c: cmd.Complete, now: float) -> tuple[ev.Event, ...]:
    if c.outcome not in cmd.OUTCOMES:
        raise MalformedCommand(
            f"Kết quả {c.outcome!r} không hợp lệ", f"outcome must be one of {cmd.OUTCOMES}, got {c.outcome!r}"
        )
    forwarded = c.forwarded_to
    if c.outcome == "forwarded":
        if type(forwarded) is not str or not forwarded.strip():
            raise MalformedCommand("Cần ghi nơi chuyển hồ sơ", "a forwarded outcome needs forwarded_to")
    elif forwarded is not None:
        raise MalformedCommand("Chỉ ghi nơi chuyển khi chuyển hồ sơ", "forwarded_to is only for a forwarded outcome")
    # From "called" too: a clerk who skips "start" still completes (service time counts from the call).
    t = _current(state, c.counter, (CALLED, SERVING), ("hoàn tất", "complete"))
    return (ev.TicketCompleted(now, t.id, c.counter, c.outcome, forwarded),)


def _no_show(state: State, c: cmd.NoShow, now: float) -> tuple[ev.Event, ...]:
    if type(c.requeue) is not bool:
        raise MalformedCommand("Tham số xếp lại không hợp lệ", f"requeue must be true or false, got {c.requeue!r}")
    t = _current(state, c.counter, (CALLED,), ("đánh dấu vắng mặt", "mark a no-show"))
    need = state.config.rules.min_recalls_before_no_show
    if t.recalls < need:
        raise IllegalTransition(
            f"Cần gọi lại số {t.id} ít nhất {need} lần trước khi đánh dấu vắng mặt (đã gọi lại {t.recalls})",
            f"ticket {t.id} needs {need} recalls before a no-show, has {t.recalls}",
        )
    return (ev.TicketNoShow(now, t.id, c.counter, c.requeue),)


def _transfer(state: State, c: cmd.Transfer, now: float) -> tuple[ev.Event, ...]:
    t = _current(state, c.counter, (CALLED, SERVING), ("chuyển", "transfer"))
    to_service = t.service if c.to_service is None else _service(state, c.to_service)
    if c.to_counter is not None:
        _counter(state, c.to_counter)
        if c.to_counter == c.counter:
            raise MalformedCommand("Không thể chuyển về chính quầy này", "cannot transfer to the same counter")
    elif to_service == t.service:
        raise MalformedCommand(
            "Cần chọn dịch vụ hoặc quầy khác để chuyển", "transfer needs another service or a counter"
        )
    return (ev.TicketTransferred(now, t.id, c.counter, to_service, c.to_counter),)


def _park(state: State, c: cmd.Park, now: float) -> tuple[ev.Event, ...]:
    t = _current(state, c.counter, (CALLED, SERVING), ("tạm hoãn", "park"))
    return (ev.TicketParked(now, t.id, c.counter),)


def _unpark(state: State, c: cmd.Unpark, now: float) -> tuple[ev.Event, ...]:
    t = _ticket(state, c.ticket)
    if t.state != PARKED:
        raise IllegalTransition(f"Số {t.id} không ở trạng thái tạm hoãn", f"ticket {t.id} is {t.state}, not parked")
    return (ev.TicketUnparked(now, t.id),)


def _cancel(state: State, c: cmd.Cancel, now: float) -> tuple[ev.Event, ...]:
    t = _ticket(state, c.ticket)
    if t.state != WAITING and t.state != PARKED:
        raise IllegalTransition(
            f"Số {t.id} đang {_STATE_VI[t.state]}, không thể hủy", f"ticket {t.id} is {t.state}; cannot cancel"
        )
    if type(c.reason) is not str:
        raise MalformedCommand("Lý do hủy không hợp lệ", f"reason must be a string, got {c.reason!r}")
    return (ev.TicketCancelled(now, t.id, c.reason),)


def _set_status(status: str) -> Callable[[State, cmd.Command, float], tuple[ev.Event, ...]]:
    def handler(state: State, c, now: float) -> tuple[ev.Event, ...]:
        counter = _counter(state, c.counter)
        if counter.status == status:
            return ()
        if status != OPEN:
            _idle(counter)
        return (ev.CounterStatusChanged(now, counter.number, status),)

    return handler


def _rate(state: State, c: cmd.Rate, now: float) -> tuple[ev.Event, ...]:
    if type(c.score) is not int or not 1 <= c.score <= 5:
        raise MalformedCommand(
            f"Điểm đánh giá phải từ 1 đến 5, nhận {c.score!r}", f"score must be 1–5, got {c.score!r}"
        )
    t = _ticket(state, c.ticket)
    if t.state != DONE:
        raise IllegalTransition(f"Số {t.id} chưa được phục vụ xong", f"ticket {t.id} is {t.state}, not done")
    if t.rating is not None:
        raise IllegalTransition(f"Số {t.id} đã được đánh giá", f"ticket {t.id} is already rated")
    return (ev.TicketRated(now, t.id, t.served_by, c.score),)


_HANDLERS: dict[type, Callable] = {
    cmd.IssueTicket: _issue,
    cmd.CallNext: _call_next,
    cmd.CallTicket: _call_ticket,
    cmd.Recall: _recall,
    cmd.StartService: _start,
    cmd.Complete: _complete,
    cmd.NoShow: _no_show,
    cmd.Transfer: _transfer,
    cmd.Park: _park,
    cmd.Unpark: _unpark,
    cmd.Cancel: _cancel,
    cmd.OpenCounter: _set_status(OPEN),
    cmd.PauseCounter: _set_status(PAUSED),
    cmd.CloseCounter: _set_status(CLOSED),
    cmd.Rate: _rate,
}
