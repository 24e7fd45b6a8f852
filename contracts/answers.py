"""What the gateway answers an event with: the ack's shape and every reason a refusal carries.

A board drops an event from its outbox on any ack, so a refusal is an ack too: `ok` false, a
stable `error` code for machines (the counter board shows it as E-<digit>) and a Vietnamese
`message` for people. docs/protocol.md, Answers.
"""

from __future__ import annotations

from typing import Any

# The dispatch core's refusals (gateway/dispatch/errors.py), then the gateway's own.
MALFORMED = "malformed"  # the event cannot be read: not JSON, wrong fields
UNKNOWN_SERVICE = "unknown_service"
UNKNOWN_COUNTER = "unknown_counter"
UNKNOWN_TICKET = "unknown_ticket"
UNKNOWN_PRIORITY_CLASS = "unknown_priority_class"
ILLEGAL_TRANSITION = "illegal_transition"  # the command does not fit the ticket's or counter's state
NUMBER_RANGE_EXHAUSTED = "number_range_exhausted"
OVER_BUDGET = "over_budget"  # a board sent more new events than its budget (gateway/budget.py)
DISPATCH_ERROR = "dispatch_error"

REASONS = (
    MALFORMED,
    UNKNOWN_SERVICE,
    UNKNOWN_COUNTER,
    UNKNOWN_TICKET,
    UNKNOWN_PRIORITY_CLASS,
    ILLEGAL_TRANSITION,
    NUMBER_RANGE_EXHAUSTED,
    OVER_BUDGET,
    DISPATCH_ERROR,
)


def accepted(event_id: str, ticket: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": event_id, "ok": True}
    if ticket is not None:
        body["ticket"] = ticket
    return body


def refused(event_id: str, code: str, message: str) -> dict[str, Any]:
    assert code in REASONS, code
    return {"id": event_id, "ok": False, "error": code, "message": message}
