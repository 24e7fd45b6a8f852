"""Wiring tables for docs/hardware.md, generated from the board profiles so the two cannot drift.

`python -m boards.wiring` prints the tables; `python -m boards.wiring --write` puts them into
docs/hardware.md between its markers (a test checks they are current).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import ROLE_PINS, Profile, all_profiles

DOC = Path(__file__).resolve().parent.parent / "docs" / "hardware.md"
BEGIN, END = "<!-- wiring:begin -->", "<!-- wiring:end -->"

# What each profile key is connected to, per role (and display chip).
SIGNALS: dict[str, str] = {
    "buttons": "service button {n} (nút dịch vụ {n}), other leg to GND",
    "priority_button": "priority button (nút ưu tiên), other leg to GND",
    "led": "status LED anode, through 330 Ω; cathode to GND",
    "printer.tx": "printer RXD (the board sends)",
    "printer.rx": "printer TXD (paper status comes back)",
    "keypad.rows": "keypad row {n} (pin {n} of the 8-pin header)",
    "keypad.cols": "keypad column {n} (pin {c} of the 8-pin header)",
    "display.mosi": "MAX7219 DIN",
    "display.sck": "MAX7219 CLK",
    "display.cs": "MAX7219 LOAD/CS",
    "display.clk": "TM1637 CLK",
    "display.dio": "TM1637 DIO",
}


def _pins(profile: Profile, role: str) -> list[tuple[str, int, str, str]]:
    """(key, GPIO, direction, what it connects to), in the profile's order."""
    rows = []
    input_only = _input_only(profile)
    for key, value in _flat(profile.pins(role)):
        direction = ROLE_PINS[role].get(key)
        if direction is None:
            continue
        gpios = value if isinstance(value, list) else [value]
        for i, gpio in enumerate(gpios, start=1):
            what = SIGNALS[key].format(n=i, c=i + 4)
            if direction == "in" and gpio in input_only:
                what += "; input-only pin: add a 10 kΩ pull-up to 3.3 V"
            rows.append((f"{key}[{i - 1}]" if isinstance(value, list) else key, gpio, direction, what))
    return rows


def _input_only(profile: Profile) -> frozenset[int]:
    from . import CHIPS

    return CHIPS[profile.chip].input_only


def _flat(pins: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in pins.items():
        if isinstance(value, dict):
            out += _flat(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _settings(profile: Profile, role: str) -> str:
    pins = profile.pins(role)
    notes = []
    if "printer" in pins:
        p = pins["printer"]
        notes.append(f"printer on UART{p['uart']} at {p['baud']} baud, 8N1")
    if "display" in pins:
        d = pins["display"]
        bus = f" on SPI{d['spi']}" if "spi" in d else " (two-wire, bit-banged)"
        modules = f", {d['modules']} modules chained" if "modules" in d else ""
        notes.append(f"display: {d['kind'].upper()}{bus}{modules}")
    return "; ".join(notes)


def tables() -> str:
    lines = []
    for profile in all_profiles():
        lines += [f"### {profile.name} (`{profile.id}`, {profile.chip})", ""]
        for role in profile.roles:
            lines += [f"**{role}**" + (f" — {_settings(profile, role)}" if _settings(profile, role) else ""), ""]
            lines += ["| profile key | GPIO | direction | connect to |", "| --- | --- | --- | --- |"]
            lines += [f"| `{key}` | {gpio} | {d} | {what} |" for key, gpio, d, what in _pins(profile, role)]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write(doc: Path = DOC) -> bool:
    """Refresh the tables in the doc; return whether anything changed."""
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{tables()}{END}{tail}"
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    if "--write" in sys.argv:
        print("docs/hardware.md updated" if write() else "docs/hardware.md is current")
    else:
        print(tables(), end="")
