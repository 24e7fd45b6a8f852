"""The console's keys: what each button sends, whether it can act now, and what to say when it did.

An untrained clerk should never press a button only to be told no. So the console asks the
dispatch core itself: each key's command is decided (never committed: `decide` changes nothing)
against the state now, and a refusal's Vietnamese reason becomes the button's reason for being
disabled. The rules stay in one place, the core; this module only knows the buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import protocol as p
from .dispatch import DispatchError, State, decide
from .dispatch.state import CALLED


@dataclass(frozen=True, slots=True)
class Key:
    id: str  # the button's id on the page and in /console/state
    label: str
    body: dict[str, Any]  # what the button sends (the keypad's key event, contracts.events.ACTIONS)
    done: str  # what the console says after it acted: {ticket}, {counter}, {agency}, {service} filled in
    main: bool = False  # the four actions of every filing come first, larger


KEYS = (
    Key("next", "Gọi số tiếp theo", {"action": "next"}, "Đã gọi số {ticket} đến quầy {counter}.", True),
    Key("resolved", "Hoàn tất tại chỗ", {"action": "complete", "outcome": "resolved"},
        "Số {ticket}: đã hoàn tất, trả kết quả tại chỗ.", True),
    Key("recall", "Gọi lại", {"action": "recall"}, "Đã gọi lại số {ticket}.", True),
    Key("no_show", "Vắng mặt", {"action": "no_show"}, "Số {ticket}: đã ghi vắng mặt.", True),
    Key("start", "Bắt đầu phục vụ", {"action": "start"}, "Bắt đầu phục vụ số {ticket}."),
    Key("returned", "Trả hồ sơ (thiếu giấy tờ)", {"action": "complete", "outcome": "returned"},
        "Số {ticket}: đã trả hồ sơ để bổ sung giấy tờ."),
    Key("park", "Tạm hoãn", {"action": "park"}, "Đã tạm hoãn số {ticket}: số chờ ở danh sách tạm hoãn."),
    Key("forwarded", "Chuyển hồ sơ đi", {"action": "complete", "outcome": "forwarded"},
        "Số {ticket}: đã nhận hồ sơ, chuyển đến {agency}."),
    Key("transfer", "Chuyển sang dịch vụ", {"action": "transfer"}, "Đã chuyển số {ticket} sang dịch vụ {service}."),
    Key("pause", "Tạm dừng quầy", {"action": "pause"}, "Quầy đã tạm dừng: không gọi số mới cho đến khi mở lại."),
    Key("open", "Mở quầy", {"action": "open"}, "Quầy đã mở: sẵn sàng gọi số."),
)  # fmt: skip
BY_ID = {k.id: k for k in KEYS}
EMPTY_QUEUE = "Không có ai đang chờ ở các dịch vụ của quầy này"
ALREADY = {"open": "Quầy đang mở", "pause": "Quầy đang tạm dừng"}


def reasons(state: State, counter: int, now: float) -> dict[str, str | None]:
    """Each key's reason it cannot act now (None: it can), decided by the core against `state`."""
    return {k.id: _reason(state, counter, k, now) for k in KEYS}


def _reason(state: State, counter: int, key: Key, now: float) -> str | None:
    command = p.key_command(counter, {**key.body, "kind": "key", **_probe_fields(state, counter, key)}, "probe")
    command.key = None  # a probe must neither find a real command's answer nor leave one
    try:
        decision = decide(state, command, now)
    except DispatchError as e:
        return e.vi
    if not decision.events:
        return EMPTY_QUEUE if key.id == "next" else ALREADY.get(key.id, "Không có gì để làm")
    return None


def _probe_fields(state: State, counter: int, key: Key) -> dict[str, Any]:
    """The choice a key needs (an agency, another service), filled with any valid one for the probe."""
    if key.id == "forwarded":
        return {"forwarded_to": "?"}
    if key.id == "transfer":
        c = state.counters.get(counter)
        current = state.tickets[c.current].service if c is not None and c.current else None
        other = next((code for code in state.services if code != current), current)
        return {"to_service": other}
    return {}


def key_for(body: dict[str, Any]) -> Key | None:
    """The button a request stands for (a script may send any keypad action; most have a button)."""
    action = body.get("action")
    return BY_ID.get(body.get("outcome", "resolved") if action == "complete" else action)


def confirmation(key: Key | None, counter: int, ticket: str | None, body: dict[str, Any],
                 services: dict[str, str]) -> str:  # fmt: skip
    """What the clerk reads after the key acted: the ticket, and where it went."""
    if key is None:
        return f"Đã thực hiện{' với số ' + ticket if ticket else ''}."
    if key.id == "next" and ticket is None:
        return "Không còn ai chờ: chưa gọi số nào."
    return key.done.format(ticket=ticket or "", counter=counter, agency=body.get("forwarded_to", ""),
                           service=services.get(body.get("to_service", ""), body.get("to_service", "")))  # fmt: skip


def current_heading(ticket_state: str | None) -> str:
    """The label above the ticket: what the counter is doing with it, not always "serving"."""
    if ticket_state is None:
        return "Chưa gọi số nào"
    return "Đã gọi, chờ công dân đến quầy" if ticket_state == CALLED else "Đang phục vụ"
