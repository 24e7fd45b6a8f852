"""The queue-dispatch core: commands in, events out, state as a fold of events.

Nothing in this package reads a clock, a file, a socket or a database; time is
an argument. See docs/dispatch.md for the rules it implements.
"""

from .commands import (
    OUTCOMES,
    CallNext,
    CallTicket,
    Cancel,
    CloseCounter,
    Command,
    Complete,
    IssueTicket,
    NoShow,
    OpenCounter,
    Park,
    PauseCounter,
    Rate,
    Recall,
    StartService,
    Transfer,
    Unpark,
)
from .decide import Decision, decide, handle
from .errors import DispatchError
from .state import State

__all__ = [
    "OUTCOMES",
    "CallNext",
    "CallTicket",
    "Cancel",
    "CloseCounter",
    "Command",
    "Complete",
    "Decision",
    "DispatchError",
    "IssueTicket",
    "NoShow",
    "OpenCounter",
    "Park",
    "PauseCounter",
    "Rate",
    "Recall",
    "StartService",
    "State",
    "Transfer",
    "Unpark",
    "decide",
    "handle",
]
