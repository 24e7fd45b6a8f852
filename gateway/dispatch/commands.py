"""What someone asks of the queue: a press, a key, a click on the console.

Commands are plain data. `key` is the idempotency key (a device event id such
as ``kiosk-1:12:345``): the same key twice returns the first result and never
acts twice. Time is not part of a command; the caller passes it to `decide`.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import OUTCOMES as OUTCOMES  # how a service ends: resolved, forwarded, returned


@dataclass(slots=True)
class Command:
    pass


@dataclass(slots=True)
class IssueTicket(Command):
    service: str
    priority: str | None = None
    source: str = ""
    key: str | None = None


@dataclass(slots=True)
class CallNext(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class CallTicket(Command):
    counter: int
    ticket: str
    key: str | None = None


@dataclass(slots=True)
class Recall(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class StartService(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class Complete(Command):
    counter: int
    outcome: str = "resolved"
    forwarded_to: str | None = None
    key: str | None = None


@dataclass(slots=True)
class NoShow(Command):
    counter: int
    requeue: bool = False
    key: str | None = None


@dataclass(slots=True)
class Transfer(Command):
    counter: int
    to_service: str | None = None
    to_counter: int | None = None
    key: str | None = None


@dataclass(slots=True)
class Park(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class Unpark(Command):
    ticket: str
    key: str | None = None


@dataclass(slots=True)
class Cancel(Command):
    ticket: str
    reason: str = ""
    key: str | None = None


@dataclass(slots=True)
class OpenCounter(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class PauseCounter(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class CloseCounter(Command):
    counter: int
    key: str | None = None


@dataclass(slots=True)
class Rate(Command):
    ticket: str
    score: int
    key: str | None = None
