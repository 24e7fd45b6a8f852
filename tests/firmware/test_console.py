"""Tests that read the board's serial console through pytest-embedded's `dut`: they run the
firmware on the MicroPython unix port here, and a real board with `--embedded-services serial
--port /dev/ttyUSB0` (pressing its button by hand where a test asks for a press)."""

from __future__ import annotations

import time


def test_the_board_comes_online(gateway, firmware_console, dut):
    dut.expect("link: online", timeout=30)
    dut.expect(r"heap_peak \d+ free \d+ outbox 0", timeout=10)


def test_a_press_is_printed(gateway, firmware_console, dut):
    dut.expect("link: online", timeout=30)
    if firmware_console is not None:  # the simulated board: press its first button
        pin = firmware_console.folder / "pins" / str(firmware_console.pins["buttons"][0])
        pin.write_text("0")
        time.sleep(0.1)
        pin.write_text("1")
    dut.expect("printed A001", timeout=30)
