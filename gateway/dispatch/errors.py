"""Typed refusals of the dispatch core.

Every refusal says what was wrong in Vietnamese first (staff read it on the
console and the keypad's display) and in English for technicians and logs.
A refused command changes nothing: the core raises before it returns events.
"""

from __future__ import annotations

from contracts import answers


class DispatchError(Exception):
    """Base of every refusal; `code` is stable for machines (contracts/answers.py), the text is for people."""

    code = answers.DISPATCH_ERROR

    def __init__(self, vi: str, en: str):
        self.vi, self.en = vi, en
        super().__init__(f"{vi} ({en})")


class MalformedCommand(DispatchError):
    code = answers.MALFORMED


class UnknownService(DispatchError):
    code = answers.UNKNOWN_SERVICE


class UnknownCounter(DispatchError):
    code = answers.UNKNOWN_COUNTER


class UnknownTicket(DispatchError):
    code = answers.UNKNOWN_TICKET


class UnknownPriorityClass(DispatchError):
    code = answers.UNKNOWN_PRIORITY_CLASS


class IllegalTransition(DispatchError):
    """The command does not fit the ticket's or the counter's current state."""

    code = answers.ILLEGAL_TRANSITION


class NumberRangeExhausted(DispatchError):
    code = answers.NUMBER_RANGE_EXHAUSTED


class OverBudget(DispatchError):
    """The board sent more new events than its budget allows (gateway/budget.py). Raised by the
    shell before the core decides, so nothing is issued; acknowledged, so a board stops resending."""

    code = answers.OVER_BUDGET
