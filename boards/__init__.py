"""Board profiles: which GPIO does what, per role, as validated data.

Each profile in `boards/profiles/*.toml` names a board, its chip, and for each
role (kiosk, counter, hall) the pins and buses the firmware uses. The chip's
rules are small tables here: flash pins (wired to the SPI flash: touching them
crashes the board), strapping pins (read at reset: a button or a load on them
can stop the board from booting) and input-only pins (no output driver). A
profile that breaks a rule is refused with the file, the key, the pin and the
reason, before a technician flashes it. docs/hardware.md shows the wiring (boards/wiring.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.validation import ConfigError, read_toml

PROFILES = Path(__file__).parent / "profiles"


@dataclass(frozen=True, slots=True)
class Chip:
    name: str
    gpios: frozenset[int]
    reserved: dict[int, str]  # pin → what it is wired to on the module
    strapping: frozenset[int]
    input_only: frozenset[int]


def _span(*ranges: tuple[int, int]) -> frozenset[int]:
    return frozenset(n for a, b in ranges for n in range(a, b + 1))


CHIPS = {
    # ESP32 technical reference / datasheet: GPIO 6–11 reach the SPI flash; 0, 2, 5, 12, 15 strap
    # the boot mode and flash voltage; 34–39 have no output driver; 20, 24, 28–31 do not exist.
    "esp32": Chip(
        "esp32",
        gpios=_span((0, 19), (21, 23), (25, 27), (32, 39)),
        reserved=dict.fromkeys(_span((6, 11)), "the SPI flash"),
        strapping=frozenset({0, 2, 5, 12, 15}),
        input_only=_span((34, 39)),
    ),
    # ESP32-S3: 26–32 reach the SPI flash, 33–37 the octal PSRAM of N8R8-type modules; 0, 3, 45, 46
    # strap; 19 and 20 are the native USB used for flashing and the console; no input-only pins.
    "esp32s3": Chip(
        "esp32s3",
        gpios=_span((0, 21), (26, 48)),
        reserved=dict.fromkeys(_span((26, 32)), "the SPI flash")
        | dict.fromkeys(_span((33, 37)), "the octal PSRAM")
        | dict.fromkeys((19, 20), "the native USB (flashing and console)"),
        strapping=frozenset({0, 3, 45, 46}),
        input_only=frozenset(),
    ),
}

# For each role: pin keys and whether the firmware drives them (out) or reads them (in).
ROLE_PINS: dict[str, dict[str, str]] = {
    "kiosk": {"buttons": "in", "priority_button": "in", "led": "out", "printer.tx": "out", "printer.rx": "in"},
    "counter": {
        "keypad.rows": "out",
        "keypad.cols": "in",
        "display.clk": "out",
        "display.dio": "out",
        "display.cs": "out",
        "display.mosi": "out",
        "display.sck": "out",
    },
    "hall": {"display.sck": "out", "display.mosi": "out", "display.cs": "out"},
}
PURPOSE = {"in": "an input", "out": "an output"}
# Keys of a role that are settings, not pins.
ROLE_SETTINGS = {
    "kiosk": {"printer.uart", "printer.baud"},
    "counter": {"display.kind", "display.spi", "display.modules"},
    "hall": {"display.kind", "display.spi", "display.modules"},
}


# Display chips a role can drive, and the keys each one needs.
DISPLAYS: dict[str, dict[str, tuple[str, ...]]] = {
    "counter": {"max7219": ("spi", "sck", "mosi", "cs"), "tm1637": ("clk", "dio")},
    "hall": {"max7219": ("spi", "sck", "mosi", "cs")},
}


class ProfileError(ConfigError):
    """A board profile that cannot be used: file, key, reason, like any configuration error."""


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str
    chip: str
    roles: dict[str, dict[str, Any]]

    def pins(self, role: str) -> dict[str, Any]:
        return self.roles[role]


def load(board_id: str) -> Profile:
    path = PROFILES / f"{board_id}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
        raise ProfileError(str(path), "-", f"no such board profile; known: {known}")
    return validate(read_toml(path), str(path))


def all_profiles() -> list[Profile]:
    return [load(p.stem) for p in sorted(PROFILES.glob("*.toml"))]


def validate(data: dict[str, Any], source: str) -> Profile:
    board = data.get("board")
    if not isinstance(board, dict) or not all(isinstance(board.get(k), str) for k in ("id", "name", "chip")):
        raise ProfileError(source, "board", "needs id, name and chip (strings)")
    chip = CHIPS.get(board["chip"])
    if chip is None:
        raise ProfileError(source, "board.chip", f"unknown chip {board['chip']!r}; known: {', '.join(CHIPS)}")
    roles = data.get("roles", {})
    for role, pins in roles.items():
        if role not in ROLE_PINS:
            raise ProfileError(source, f"roles.{role}", f"unknown role; known: {', '.join(ROLE_PINS)}")
        _check_role(source, chip, role, pins)
    return Profile(board["id"], board["name"], chip.name, roles)


def _flatten(pins: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in pins.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_display(source: str, role: str, display: Any) -> None:
    where = f"roles.{role}.display"
    kinds = DISPLAYS[role]
    if not isinstance(display, dict) or display.get("kind") not in kinds:
        kind = display.get("kind") if isinstance(display, dict) else display
        raise ProfileError(source, f"{where}.kind", f"unknown display {kind!r}; known: {', '.join(kinds)}")
    missing = [k for k in kinds[display["kind"]] if k not in display]
    if missing:
        raise ProfileError(source, where, f"a {display['kind']} needs {', '.join(missing)}")


def _check_role(source: str, chip: Chip, role: str, pins: dict[str, Any]) -> None:
    if role in DISPLAYS:
        _check_display(source, role, pins.get("display"))
    used: dict[int, str] = {}
    for key, value in _flatten(pins).items():
        where = f"roles.{role}.{key}"
        direction = ROLE_PINS[role].get(key)
        if direction is None:
            if key not in ROLE_SETTINGS[role]:
                known = sorted({*ROLE_PINS[role], *ROLE_SETTINGS[role]})
                raise ProfileError(source, where, f"unknown key; known: {', '.join(known)}")
            continue
        for gpio in value if isinstance(value, list) else [value]:
            if isinstance(gpio, bool) or not isinstance(gpio, int) or gpio not in chip.gpios:
                raise ProfileError(source, where, f"GPIO {gpio!r} does not exist on {chip.name}")
            if gpio in chip.reserved:
                raise ProfileError(source, where, f"GPIO {gpio} is wired to {chip.reserved[gpio]} on {chip.name}")
            if gpio in chip.strapping:
                raise ProfileError(source, where, f"GPIO {gpio} is a strapping pin on {chip.name}: it can stop the "
                                                  "board from booting")  # fmt: skip
            if direction == "out" and gpio in chip.input_only:
                raise ProfileError(source, where, f"GPIO {gpio} is input-only on {chip.name} and cannot be "
                                                  f"{PURPOSE['out']}")  # fmt: skip
            if gpio in used:
                raise ProfileError(source, where, f"GPIO {gpio} is already used by {used[gpio]}")
            used[gpio] = where
