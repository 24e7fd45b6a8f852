"""What happened: the only thing the journal stores and the state is folded from.

Events are facts in the past tense and carry every value needed to apply them
without consulting anything else, so that replaying a journal needs neither
the clock nor the rules that were in force. `at` is the epoch time in seconds
the core was given with the command.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class Event:
    at: float


@dataclass(slots=True)
class DayOpened(Event):
    day: str  # ISO date in the center's time zone
    ends_at: float  # epoch of the next local midnight


@dataclass(slots=True)
class TicketIssued(Event):
    ticket: str
    service: str
    number: int
    priority: str | None
    source: str
    ahead: int
    eta_low_min: int | None  # None: not yet known
    eta_high_min: int | None
    eta_point_min: float | None  # the uncalibrated estimate, for calibrating later ones


@dataclass(slots=True)
class TicketCalled(Event):
    ticket: str
    counter: int
    specific: bool  # called by number rather than by "next"


@dataclass(slots=True)
class TicketRecalled(Event):
    ticket: str
    counter: int
    recalls: int


@dataclass(slots=True)
class ServiceStarted(Event):
    ticket: str
    counter: int


@dataclass(slots=True)
class TicketCompleted(Event):
    ticket: str
    counter: int
    outcome: str
    forwarded_to: str | None


@dataclass(slots=True)
class TicketNoShow(Event):
    ticket: str
    counter: int
    requeued: bool


@dataclass(slots=True)
class TicketTransferred(Event):
    ticket: str
    counter: int
    to_service: str
    to_counter: int | None


@dataclass(slots=True)
class TicketParked(Event):
    ticket: str
    counter: int


@dataclass(slots=True)
class TicketUnparked(Event):
    ticket: str


@dataclass(slots=True)
class TicketCancelled(Event):
    ticket: str
    reason: str


@dataclass(slots=True)
class TicketUnfinished(Event):
    """The business day ended with the ticket still waiting, called, in service or parked: its
    outcome. `at` is the old day's end (its `ends_at`); decided by the first command of the next
    day, before its DayOpened, so the journal holds it among the old day's events."""

    ticket: str
    was: str  # the state it was left in: waiting | called | serving | parked


@dataclass(slots=True)
class CounterStatusChanged(Event):
    counter: int
    status: str  # open | paused | closed


@dataclass(slots=True)
class TicketRated(Event):
    ticket: str
    counter: int
    score: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        DayOpened,
        TicketIssued,
        TicketCalled,
        TicketRecalled,
        ServiceStarted,
        TicketCompleted,
        TicketNoShow,
        TicketTransferred,
        TicketParked,
        TicketUnparked,
        TicketCancelled,
        TicketUnfinished,
        CounterStatusChanged,
        TicketRated,
    )
}
_FIELDS = {cls: tuple(f.name for f in fields(cls) if f.name != "at") for cls in EVENT_TYPES.values()}


def event_data(event: Event) -> dict[str, Any]:
    """The event's fields other than `at`, for the journal's JSON column."""
    return {name: getattr(event, name) for name in _FIELDS[type(event)]}


def event_from(type_name: str, at: float, data: dict[str, Any]) -> Event:
    """Rebuild an event from a journal row; unknown types are a corrupt journal."""
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise ValueError(f"unknown event type {type_name!r} in journal") from None
    return cls(at, **data)
