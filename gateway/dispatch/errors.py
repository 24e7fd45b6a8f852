"""Typed refusals of the dispatch core.

Every refusal says what was wrong in Vietnamese first (staff read it on the
console and the keypad's display) and in English for technicians and logs.
A refused command changes nothing: the core raises before it returns events.
"""

from __future__ import annotations


class DispatchError(Exception):
    """Base of every refusal; `code` is stable for machines, the text is for people."""

    code = "dispatch_error"

    def __init__(self, vi: str, en: str):
        self.vi, self.en = vi, en
        super().__init__(f"{vi} ({en})")


class MalformedCommand(DispatchError):
    code = "malformed"


class UnknownService(DispatchError):
    code = "unknown_service"


class UnknownCounter(DispatchError):
    code = "unknown_counter"


class UnknownTicket(DispatchError):
    code = "unknown_ticket"


class UnknownPriorityClass(DispatchError):
    code = "unknown_priority_class"


class IllegalTransition(DispatchError):
    """The command does not fit the ticket's or the counter's current state."""

    code = "illegal_transition"


class NumberRangeExhausted(DispatchError):
    code = "number_range_exhausted"


class OverBudget(DispatchError):
    """The board sent more new events than its budget allows (gateway/budget.py). Raised by the
    shell before the core decides, so nothing is issued; acknowledged, so a board stops resending."""

    code = "over_budget"
