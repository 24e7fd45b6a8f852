"""The device protocol over MQTT: topics and payloads, in one place (docs/protocol.md).

Every board has its own branch of the topic tree:

    <prefix>/v1/<center>/<device>/status      retained, device → all: "online" / "lost" (last will)
    <prefix>/v1/<center>/<device>/info        retained, device → gateway: what the board is
    <prefix>/v1/<center>/<device>/tele        QoS 0, device → gateway: health, every minute
    <prefix>/v1/<center>/<device>/evt         QoS 1, device → gateway: a press or a key, with an id
    <prefix>/v1/<center>/<device>/ack         QoS 1, gateway → device: the event is durable
    <prefix>/v1/<center>/<device>/cmd/<name>  QoS 1, gateway → device: print, identify, ...
    <prefix>/v1/<center>/<device>/display     retained, gateway → device: what to show

This module turns an event payload into a dispatch command and builds what goes
back; it does no I/O. Every refusal is a ProtocolError whose reason is logged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import dispatch as d
from .config import CenterConfig, Device

PREFIX = "hangcho"
VERSION = "v1"
MAX_PAYLOAD = 2048  # bytes: the largest event a board sends is about 150
MAX_DEPTH = 16  # of a payload's nesting: boards send flat JSON; the registry keeps info and tele as sent
FROM_DEVICE = ("status", "info", "tele", "evt")
TO_DEVICE = ("ack", "display", "cmd")
COMMANDS = ("print", "identify", "reboot", "update", "config")
COMMAND_TTL_S = 30.0  # a command not delivered within this is dropped by the board, never shown late
STATUS_ONLINE, STATUS_LOST = "online", "lost"

_EVENT_ID = re.compile(r"([a-z0-9][a-z0-9-]{0,31}):([0-9]{1,10}):([0-9]{1,10})")  # [0-9]: \d is any script's digit


class ProtocolError(ValueError):
    """A message the gateway refuses; `reason` says why, for the log."""

    def __init__(self, reason: str, event_id: str | None = None):
        self.reason, self.event_id = reason, event_id
        super().__init__(reason)


def topic(center: str, device: str, leaf: str, prefix: str = PREFIX) -> str:
    return f"{prefix}/{VERSION}/{center}/{device}/{leaf}"


def subscriptions(center: str, prefix: str = PREFIX) -> list[tuple[str, int]]:
    """What the gateway listens to: every board's upward topics."""
    return [(topic(center, "+", leaf, prefix), 0 if leaf == "tele" else 1) for leaf in FROM_DEVICE]


def parse_topic(name: str, center: str, prefix: str = PREFIX) -> tuple[str, str]:
    """(device, leaf) of an upward topic of this center."""
    parts = name.split("/")
    if len(parts) != 5 or parts[:3] != [prefix, VERSION, center] or parts[4] not in FROM_DEVICE:
        raise ProtocolError(f"unexpected topic {name!r}")
    return parts[3], parts[4]


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
    m = _EVENT_ID.fullmatch(event_id) if isinstance(event_id, str) else None
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
    _field(data, "kind", str, choices=("press",))
    button = _field(data, "button", int)
    if not 0 <= button < len(device.buttons):
        raise ProtocolError(f"button {button} is not one of the {len(device.buttons)} of {device.id}")
    priority = None
    if _field(data, "priority", bool, default=False):
        priority = device.priority_class or (config.priority_classes[0].code if config.priority_classes else None)
        if priority is None:
            raise ProtocolError("priority pressed but the center has no priority class")
    return d.IssueTicket(device.buttons[button], priority, source=device.id, key=event_id)


ACTIONS = ("next", "recall", "start", "complete", "no_show", "transfer", "park", "open", "pause", "close", "rate")


def key_command(n: int, data: dict, event_id: str) -> d.Command:
    """A counter's key (from its keypad or the console) as a core command keyed by `event_id`."""
    _field(data, "kind", str, choices=("key",))
    action = _field(data, "action", str, choices=ACTIONS)
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
        return {"id": event_id, "ok": False, "error": outcome.code, "message": outcome.vi}
    tickets = [e.ticket for e in outcome.events if hasattr(e, "ticket")]
    body: dict[str, Any] = {"id": event_id, "ok": True}
    if tickets:
        body["ticket"] = tickets[-1]
    return body


def refusal(event_id: str, error: ProtocolError) -> dict[str, Any]:
    return {"id": event_id, "ok": False, "error": "malformed", "message": error.reason}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
