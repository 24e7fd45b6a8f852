"""Identifier grammars and reserved names (docs/protocol.md, docs/sync.md).

Every grammar is ASCII only and used with `fullmatch`: a center id and a device id become MQTT
topic levels, file names and URL parts, so `/`, `#`, `+`, spaces and letters of other scripts
are refused at the door (`$` would let a trailing newline in; `\\d` is any script's digit).
"""

from __future__ import annotations

import re

CENTER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DEVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
SERVICE_CODE = re.compile(r"[A-Z]")  # a ticket's letter: A023
PRIORITY_CLASS = re.compile(r"[a-z][a-z0-9_]{0,31}")
TICKET = re.compile(r"([A-Z])([0-9]{3,4})")  # letter and number, at least 3 digits (services go to 9999)
EVENT_ID = re.compile(rf"({DEVICE_ID.pattern}):([0-9]{{1,10}}):([0-9]{{1,10}})")  # <device>:<boot>:<seq>

GATEWAY = "gateway"
"""The gateway's broker account and its own branch of the topic tree (`.../gateway/status`)."""
TECH_TOOLS = ("tech-provision", "tech-identify", "tech-reboot", "tech-update")
"""The technician tools' broker accounts, one per tool (gateway/broker_auth.py TECH_ACCOUNTS)."""
CONSOLE = "console"
"""The staff console's keys are journaled as `console-<counter>:<request>`."""
RESERVED_DEVICE_IDS = frozenset({GATEWAY, CONSOLE, *TECH_TOOLS})
RESERVED_PREFIXES = (CONSOLE + "-", "tech-")  # the console's event ids; the tools, now and later


def center_id_problem(value: object) -> str | None:
    """Why `value` cannot be a center id (Vietnamese, then English), or None."""
    if not isinstance(value, str) or not CENTER_ID.fullmatch(value):
        return f"chỉ a–z, 0–9, - và bắt đầu bằng chữ hoặc số, tối đa 63 (only a–z, 0–9, -; at most 63), got {value!r}"
    return None


def device_id_problem(value: object) -> str | None:
    """Why `value` cannot be a device id, or None: the grammar, then the reserved names."""
    if not isinstance(value, str) or not DEVICE_ID.fullmatch(value):
        return f"chỉ a–z, 0–9, - (only a–z, 0–9, -; at most 32), got {value!r}"
    if value in RESERVED_DEVICE_IDS or value.startswith(RESERVED_PREFIXES):
        return f"tên {value!r} dành riêng cho hệ thống (reserved: gateway, console, console-*, tech-*)"
    return None
