"""Flashing MicroPython with esptool: the commands, and what their output means.

esptool talks to the chip's ROM bootloader, so nothing here can run without a board; the
tests check the commands built and the errors given for what esptool prints.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Where the MicroPython image goes: after the second-stage bootloader's slot on the ESP32,
# at 0 on the S3 (MicroPython's own download pages give the same offsets).
OFFSETS = {"esp32": "0x1000", "esp32s3": "0x0"}
_CHIP_LINE = re.compile(r"(?:Connected to|Detecting chip type\.\.\.|Chip is|Chip type:)\s+(ESP32[-A-Z0-9]*)")
# Families with a suffix of their own; any other ESP32-… (D0WD, U4WDH, PICO-D4 …) is a classic ESP32.
_FAMILIES = ("ESP32-S2", "ESP32-S3", "ESP32-C2", "ESP32-C3", "ESP32-C5", "ESP32-C6", "ESP32-H2", "ESP32-P4")


class FlashError(Exception):
    """Why a board could not be flashed, in words a technician can act on."""


def esptool(*args: str) -> list[str]:
    return [sys.executable, "-m", "esptool", *args]


def check_image(image: Path) -> None:
    """A MicroPython .bin for the ESP32 family starts with the image magic byte 0xE9."""
    if not image.is_file():
        raise FlashError(f"{image}: no such file (download MicroPython for your board from micropython.org)")
    with image.open("rb") as f:
        head = f.read(1)
    if head != b"\xe9":
        raise FlashError(f"{image}: not an ESP32 firmware image (.bin starting with 0xE9); an .uf2 or .hex will not do")


def chip_of(esptool_output: str) -> str | None:
    """The chip esptool found (`chip-id`/`chip_id` output, esptool 4 or 5), as a profile names it."""
    match = _CHIP_LINE.search(esptool_output)
    if match is None:
        return None
    name = match.group(1)
    family = next((f for f in _FAMILIES if name.startswith(f)), "ESP32")
    return family.replace("-", "").lower()


def commands(port: str, chip: str, image: Path, baud: int = 460800) -> list[list[str]]:
    """Erase, write and verify, in that order."""
    common = ["--port", port, "--chip", chip, "--baud", str(baud)]
    offset = OFFSETS[chip]
    return [
        esptool(*common, "erase-flash"),
        esptool(*common, "write-flash", "-z", offset, str(image)),
        esptool(*common, "verify-flash", offset, str(image)),
    ]


def flash(port: str, expected_chip: str, image: Path, run: Callable = subprocess.run,
          step: Callable[[str], None] = lambda s: None) -> str:  # fmt: skip
    """Detect the chip, refuse a mismatch with the profile, then erase, write and verify."""
    check_image(image)
    step("detecting the chip")
    probe = run(esptool("--port", port, "chip-id"), capture_output=True, text=True)
    if probe.returncode != 0:
        raise FlashError(f"esptool could not talk to {port}: {_last_line(probe)}; hold BOOT, tap EN, release BOOT "
                         "and try again")  # fmt: skip
    chip = chip_of(probe.stdout)
    if chip != expected_chip:
        raise FlashError(f"the board on {port} is an {chip or 'unknown chip'}, but the profile is for {expected_chip}: "
                         "pick the profile of this board")  # fmt: skip
    for name, command in zip(("erasing", "writing", "verifying"), commands(port, chip, image), strict=True):
        step(name)
        done = run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise FlashError(f"{name} failed on {port}: {_last_line(done)}")
    return chip


def _last_line(result) -> str:
    lines = [line for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"
