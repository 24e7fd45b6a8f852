"""The device protocol over MQTT: a board's payloads turned into dispatch commands, and the
answers built (docs/protocol.md). The topic tree, the id grammars and the reason codes are the
contracts package's (contracts/topics.py, ids.py, answers.py); this module applies them to the
center's configuration and the dispatch core. It does no I/O: every refusal is a ProtocolError
whose reason is logged.
"""

from __future__ import annotations

import json
from typing import Any

from contracts import answers, events, ids
from contracts import topics as t
from contracts.topics import COMMAND_TTL_S as COMMAND_TTL_S
from contracts.topics import PREFIX as PREFIX
from contracts.topics import STATUS_LOST as STATUS_LOST
from contracts.topics import STATUS_ONLINE as STATUS_ONLINE
from contracts.topics import TIME_EVERY_S as TIME_EVERY_S
from contracts.topics import expires as expires
from contracts.topics import gateway_status as gateway_status  # the gateway's modules use these as p.X
from contracts.topics import gateway_time as gateway_time
from contracts.topics import topic as topic

from . import dispatch as d
from .config import CenterConfig, Device
from .dispatch.events import TicketUnfinished

MAX_PAYLOAD = 2048  # bytes: the largest event a board sends is about 150
MAX_DEPTH = 16  # of a payload's nesting: boards send flat JSON; the registry keeps info and tele as sent


class ProtocolError(ValueError):
    """A message the gateway refuses; `reason` says why, for the log."""

    def __init__(self, reason: str, event_id: str | None = None):
        self.reason, self.event_id = reason, event_id
        super().__init__(reason)


def subscriptions(center: str, prefix: str = PREFIX) -> list[tuple[str, int]]:
    """What the gateway listens to: every board's upward topics."""
    return [(topic(center, "+", leaf, prefix), t.QOS[leaf]) for leaf in t.FROM_DEVICE]


def parse_topic(name: str, center: str, prefix: str = PREFIX) -> tuple[str, str]:
    """(device, leaf) of an upward topic of this center."""
    found = t.split(name, center, prefix)
    if found is None:
        raise ProtocolError(f"unexpected topic {name!r}")
    return found


def load_json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"payload is not UTF-8 JSON: {e}") from None
    except RecursionError:  # 2,048 bytes hold a thousand nested brackets: deeper than json.loads goes
        raise ProtocolError(f"payload is nested more than {MAX_DEPTH} deep") from None
    if not isinstance(data, dict):
        raise ProtocolError("payload is not a JSON object")
    if _deeper_than(data, MAX_DEPTH):
        raise ProtocolError(f"payload is nested more than {MAX_DEPTH} deep")
    return data


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def event_command(config: CenterConfig, device: Device, payload: bytes) -> tuple[str, d.Command]:
    """(event id, command) for an `evt` payload, or ProtocolError naming what is wrong."""
    data = load_json(payload)
    event_id = data.get("id")
    m = ids.EVENT_ID.fullmatch(event_id) if isinstance(event_id, str) else None
    if m is None or m.group(1) != device.id:
        raise ProtocolError(f"event id must be '{device.id}:<boot>:<seq>', got {event_id!r}")
    try:
        if device.role == "kiosk":
            return event_id, _press(config, device, data, event_id)
        if device.role == "counter":
            return event_id, key_command(device.counter, data, event_id)
    except ProtocolError as e:
        e.event_id = event_id
        raise
    raise ProtocolError(f"a {device.role} board sends no events", event_id)


def _field(data: dict, name: str, kinds: type | tuple[type, ...], default: Any = ..., choices: tuple = ()) -> Any:
    if name not in data:
        if default is ...:
            raise ProtocolError(f"missing field {name!r}")
        return default
    value = data[name]
    if isinstance(value, bool) and kinds is not bool:
        raise ProtocolError(f"field {name!r} has the wrong type: {value!r}")
    if not isinstance(value, kinds) or (choices and value not in choices):
        raise ProtocolError(f"field {name!r} is not valid: {value!r}")
    return value


def _press(config: CenterConfig, device: Device, data: dict, event_id: str) -> d.Command:
    _field(data, "kind", str, choices=(events.PRESS,))
    button = _field(data, "button", int)
    if not 0 <= button < len(device.buttons):
        raise ProtocolError(f"button {button} is not one of the {len(device.buttons)} of {device.id}")
    priority = None
    if _field(data, "priority", bool, default=False):
        priority = device.priority_class or (config.priority_classes[0].code if config.priority_classes else None)
        if priority is None:
            raise ProtocolError("priority pressed but the center has no priority class")
    return d.IssueTicket(device.buttons[button], priority, source=device.id, key=event_id)


def key_command(n: int, data: dict, event_id: str) -> d.Command:
    """A counter's key (from its keypad or the console) as a core command keyed by `event_id`."""
    _field(data, "kind", str, choices=(events.KEY,))
    action = _field(data, "action", str, choices=events.ACTIONS)
    simple = {
        "next": d.CallNext,
        "recall": d.Recall,
        "start": d.StartService,
        "park": d.Park,
        "open": d.OpenCounter,
        "pause": d.PauseCounter,
        "close": d.CloseCounter,
    }
    if action in simple:
        return simple[action](n, key=event_id)
    if action == "complete":
        outcome = _field(data, "outcome", str, default="resolved", choices=d.OUTCOMES)
        return d.Complete(n, outcome, _field(data, "forwarded_to", str, default=None), key=event_id)
    if action == "no_show":
        return d.NoShow(n, _field(data, "requeue", bool, default=False), key=event_id)
    if action == "transfer":
        to_service = _field(data, "to_service", str, default=None)
        return d.Transfer(n, to_service, _field(data, "to_counter", int, default=None), key=event_id)
    return d.Rate(_field(data, "ticket", str), _field(data, "score", int), key=event_id)


def ack(event_id: str, outcome: d.Decision | d.DispatchError) -> dict[str, Any]:
    """The answer to an event: the device drops it from its outbox on any ack."""
    if isinstance(outcome, d.DispatchError):
        return answers.refused(event_id, outcome.code, outcome.vi)
    # The first command of a day also carries the old day's closings: they are not its answer.
    tickets = [e.ticket for e in outcome.events if hasattr(e, "ticket") and e.__class__ is not TicketUnfinished]
    return answers.accepted(event_id, tickets[-1] if tickets else None)


def refusal(event_id: str, error: ProtocolError) -> dict[str, Any]:
    return answers.refused(event_id, answers.MALFORMED, error.reason)


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
