"""Board profiles: both boards load; every chip rule refuses with the file, key, pin and reason."""

from __future__ import annotations

import copy
import tomllib

import pytest

import boards
from boards import PROFILES, ProfileError, validate


def test_both_boards_load_with_all_roles():
    profiles = {p.id: p for p in boards.all_profiles()}
    assert set(profiles) == {"esp32-devkitc", "esp32-s3-devkitc"}
    for profile in profiles.values():
        assert set(profile.roles) == {"kiosk", "counter", "hall"}
    assert profiles["esp32-devkitc"].pins("kiosk")["printer"]["tx"] == 17


def devkitc() -> dict:
    return tomllib.loads((PROFILES / "esp32-devkitc.toml").read_text())


def s3() -> dict:
    return tomllib.loads((PROFILES / "esp32-s3-devkitc.toml").read_text())


@pytest.mark.parametrize(
    ("make", "role", "key", "value", "reason"),
    [
        (devkitc, "kiosk", "led", 7, "GPIO 7 is wired to the SPI flash on esp32"),
        (devkitc, "kiosk", "led", 12, "GPIO 12 is a strapping pin on esp32"),
        (devkitc, "kiosk", "buttons", [32, 0], "GPIO 0 is a strapping pin"),
        (devkitc, "kiosk", "led", 34, "GPIO 34 is input-only on esp32 and cannot be an output"),
        (devkitc, "kiosk", "led", 24, "GPIO 24 does not exist on esp32"),
        (devkitc, "kiosk", "led", 32, "GPIO 32 is already used by roles.kiosk.buttons"),
        (devkitc, "kiosk", "led", True, "does not exist"),
        (s3, "kiosk", "led", 35, "GPIO 35 is wired to the octal PSRAM on esp32s3"),
        (s3, "kiosk", "led", 20, "GPIO 20 is wired to the native USB"),
        (s3, "kiosk", "led", 46, "GPIO 46 is a strapping pin on esp32s3"),
    ],
)
def test_a_bad_pin_is_refused_with_its_reason(make, role, key, value, reason):
    data = make()
    data["roles"][role][key] = value
    with pytest.raises(ProfileError) as caught:
        validate(data, "boards/profiles/x.toml")
    assert caught.value.key == f"roles.{role}.{key}"
    assert reason in caught.value.reason
    assert str(caught.value).startswith("boards/profiles/x.toml: ")


def test_nested_pins_are_checked_too():
    data = devkitc()
    data["roles"]["counter"]["keypad"]["rows"][0] = 9
    with pytest.raises(ProfileError, match=r"roles\.counter\.keypad\.rows: GPIO 9 is wired to the SPI flash"):
        validate(data, "x")


def test_an_input_only_pin_may_be_an_input():
    data = devkitc()
    data["roles"]["kiosk"]["printer"]["rx"] = 36
    assert validate(data, "x").pins("kiosk")["printer"]["rx"] == 36


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["board"].update(chip="esp8266"), "board.chip"),
        (lambda d: d["roles"].update(printer={}), "roles.printer"),
        (lambda d: d.pop("board"), "board"),
        (lambda d: d["roles"]["kiosk"].update(lde=4), "roles.kiosk.lde"),
    ],
)
def test_unknown_chips_roles_and_missing_board(edit, key):
    data = copy.deepcopy(devkitc())
    edit(data)
    with pytest.raises(ProfileError) as caught:
        validate(data, "x")
    assert caught.value.key == key


def test_an_unknown_board_names_the_known_ones():
    with pytest.raises(ProfileError, match="known: esp32-devkitc, esp32-s3-devkitc"):
        boards.load("arduino-uno")


@pytest.mark.parametrize(
    ("role", "display", "key", "reason"),
    [
        ("counter", {"kind": "ht16k33", "clk": 13}, "roles.counter.display.kind", "unknown display 'ht16k33'; "
                                                                             "known: max7219, tm1637"),
        ("counter", {"kind": "tm1637", "clk": 13}, "roles.counter.display", "a tm1637 needs dio"),
        ("hall", {"kind": "tm1637", "clk": 13, "dio": 4}, "roles.hall.display.kind", "known: max7219"),
        ("hall", {"kind": "max7219", "spi": 2, "sck": 18}, "roles.hall.display", "a max7219 needs mosi, cs"),
    ],
)  # fmt: skip
def test_a_display_needs_a_known_chip_and_its_pins(role, display, key, reason):
    data = devkitc()
    data["roles"][role]["display"] = display
    with pytest.raises(ProfileError) as caught:
        validate(data, "x")
    assert caught.value.key == key and reason in caught.value.reason


def test_the_wiring_tables_in_docs_hardware_match_the_profiles():
    from boards import wiring

    text = wiring.DOC.read_text(encoding="utf-8")
    assert wiring.tables() in text, "docs/hardware.md is stale: run `python -m boards.wiring --write`"
    assert "| `keypad.cols[3]` | 35 | in |" in text and "10 kΩ pull-up" in text  # the input-only note
    assert "| `display.clk` | 12 | out | TM1637 CLK |" in text  # the S3 counter's TM1637
