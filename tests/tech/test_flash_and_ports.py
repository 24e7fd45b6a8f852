"""Flashing and finding boards. No board or emulator exists here, so esptool's side is its
command lines and what its real output means; pyserial's side is its port records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from serial.tools.list_ports_common import ListPortInfo

from tech.cli import main
from tech.flash import FlashError, chip_of, commands, flash
from tech.ports import PortError, boards, choose

ESPTOOL_S3 = """esptool v5.1.0
Connected to ESP32-S3 on /dev/ttyACM0:
Chip type:          ESP32-S3 (QFN56) (revision v0.2)
Features:           Wi-Fi, BT 5 (LE), Dual Core + LP Core, 240MHz, Embedded PSRAM 8MB (AP_3v3)
"""
ESPTOOL_4_CLASSIC = (
    "esptool.py v4.7.0\nSerial port /dev/ttyUSB0\nConnecting....\nChip is ESP32-D0WD-V3 (revision v3.1)\n"
)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "ESP32_GENERIC-v1.24.1.bin"
    path.write_bytes(b"\xe9" + bytes(1000))
    return path


def test_the_chip_is_read_from_esptool_4_and_5():
    assert chip_of(ESPTOOL_S3) == "esp32s3"
    assert chip_of(ESPTOOL_4_CLASSIC) == "esp32"
    assert chip_of("A fatal error occurred: Failed to connect to Espressif device") is None


def test_erase_write_verify_at_the_chips_offset(image):
    erase, write, verify = commands("/dev/ttyUSB0", "esp32", image)
    assert erase == [sys.executable, "-m", "esptool", "--port", "/dev/ttyUSB0", "--chip", "esp32", "--baud", "460800",
                     "erase-flash"]  # fmt: skip
    assert write[-4:] == ["write-flash", "-z", "0x1000", str(image)]
    assert verify[-3:] == ["verify-flash", "0x1000", str(image)]
    assert commands("/dev/ttyACM0", "esp32s3", image)[1][-3:-1] == ["-z", "0x0"]


STEPS = ("chip-id", "erase-flash", "write-flash", "verify-flash")


class FakeEsptool:
    """Stands in for the esptool process: answers chip-id with a real esptool output, and fails
    the step named `fail` the way esptool does."""

    def __init__(self, chip_output: str, fail: str | None = None):
        self.chip_output, self.fail, self.steps = chip_output, fail, []

    def __call__(self, command, **kw):
        step = next(a for a in command if a in STEPS)
        self.steps.append(step)
        if step == self.fail:
            return subprocess.CompletedProcess(
                command, 2, "", "A fatal error occurred: Packet content transfer stopped"
            )
        return subprocess.CompletedProcess(command, 0, self.chip_output if step == "chip-id" else "", "")


def test_flash_runs_the_steps_in_order(image):
    run = FakeEsptool(ESPTOOL_S3)
    assert flash("/dev/ttyACM0", "esp32s3", image, run=run) == "esp32s3"
    assert run.steps == list(STEPS)


@pytest.mark.parametrize(
    ("output", "fail", "expected", "message"),
    [
        (ESPTOOL_4_CLASSIC, None, "esp32s3", "is an esp32, but the profile is for esp32s3"),
        ("A fatal error occurred: Failed to connect", "chip-id", "esp32", "could not talk to /dev/ttyUSB0"),
        (ESPTOOL_4_CLASSIC, "write-flash", "esp32", "writing failed on /dev/ttyUSB0: A fatal error occurred"),
    ],
)
def test_flash_errors_say_what_went_wrong(image, output, fail, expected, message):
    with pytest.raises(FlashError, match=message):
        flash("/dev/ttyUSB0", expected, image, run=FakeEsptool(output, fail))


def test_a_file_that_is_not_an_esp32_image_is_refused(tmp_path):
    uf2 = tmp_path / "RPI_PICO.uf2"
    uf2.write_bytes(b"UF2\n" + bytes(100))
    with pytest.raises(FlashError, match="not an ESP32 firmware image"):
        flash("/dev/ttyUSB0", "esp32", uf2, run=FakeEsptool(ESPTOOL_4_CLASSIC))
    with pytest.raises(FlashError, match="no such file"):
        flash("/dev/ttyUSB0", "esp32", tmp_path / "missing.bin", run=FakeEsptool(ESPTOOL_4_CLASSIC))


def port(device, vid, pid, serial="0001"):
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    return info


def test_boards_are_found_by_their_usb_bridge():
    found = boards([port("/dev/ttyUSB0", 0x10C4, 0xEA60), port("/dev/ttyACM0", 0x303A, 0x1001),
                    port("/dev/ttyACM1", 0x2341, 0x0043), port("/dev/ttyS0", None, None)])  # fmt: skip
    assert [(f.device, f.kind) for f in found] == [("/dev/ttyACM0", "ESP32-S3 native USB"),
                                                   ("/dev/ttyUSB0", "Silicon Labs CP210x")]  # fmt: skip
    assert choose(None, found[:1]) == "/dev/ttyACM0"
    assert choose("socket://127.0.0.1:7788", []) == "socket://127.0.0.1:7788"
    with pytest.raises(PortError, match="no board found on USB"):
        choose(None, [])
    with pytest.raises(PortError, match=r"several boards on USB: /dev/ttyACM0 .*; choose one with --port"):
        choose(None, found)


def test_the_flash_command_says_when_there_is_no_board(image, monkeypatch):
    monkeypatch.setattr("tech.ports.list_ports.comports", lambda: [])
    result = CliRunner().invoke(main, ["flash", "--board", "esp32-devkitc", "--image", str(image)])
    assert result.exit_code == 1 and "no board found on USB" in result.output
    unknown = CliRunner().invoke(main, ["flash", "--board", "arduino", "--image", str(image), "--port", "/dev/x"])
    assert unknown.exit_code == 1 and "no such board profile" in unknown.output
    assert Path(image).exists()
