"""The kiosk's whole program on MicroPython (64 KB heap) with simulated pins, Wi-Fi and printer,
against a real Mosquitto and the real gateway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import boards

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).parent / "micropython"
PINS = boards.load("esp32-devkitc").pins("kiosk")


class Kiosk:
    """A simulated kiosk board: its flash is a folder; pins, Wi-Fi and UART are files there."""

    def __init__(self, folder: Path, broker):
        self.folder = folder
        (folder / "pins").mkdir(parents=True, exist_ok=True)
        config = {
            "role": "kiosk", "device": "kiosk-1", "center": "test", "board": "esp32-devkitc", "rev": "1",
            "wifi": {"ssid": "TTPVHCC", "password": "x"},
            "broker": {"host": "127.0.0.1", "port": broker.port, "password": broker.password("kiosk-1")},
            "pins": PINS,
        }  # fmt: skip
        (folder / "config.json").write_text(json.dumps(config))
        self.proc = None

    def start(self) -> Kiosk:
        env = {**os.environ, "MICROPYPATH": f"{ROOT}/firmware/sim:{ROOT}/firmware/app:.frozen",
               "HANGCHO_CAPTURE": str(self.folder)}  # fmt: skip
        self.proc = subprocess.Popen(
            [str(MICROPYTHON), "-X", "heapsize=64wK", "-c", "import main; main.main()"],
            cwd=self.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        return self

    def press(self, button: int) -> None:
        gpio = (PINS["buttons"] + [PINS["priority_button"]])[button]
        (self.folder / "pins" / str(gpio)).write_text("0")
        time.sleep(0.08)
        (self.folder / "pins" / str(gpio)).write_text("1")
        time.sleep(0.08)

    def wifi(self, up: bool) -> None:
        (self.folder / "wifi").write_text("up" if up else "down")

    def printed(self) -> bytes:
        path = self.folder / "uart2.bin"
        return path.read_bytes() if path.exists() else b""

    def wait_printed(self, tickets: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(b"\x1d!\x33" + t.encode() + b"\n" in self.printed() for t in tickets):
                return
            assert self.proc.poll() is None, self.proc.stdout.read()
            time.sleep(0.05)
        raise AssertionError(f"not printed: {tickets}; printed {self.printed()[-200:]!r}")

    def kill(self) -> str:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return self.proc.stdout.read()

    def stop(self) -> str:
        return self.kill() if self.proc and self.proc.poll() is None else ""


@pytest.fixture
def kiosk(broker, tmp_path):
    k = Kiosk(tmp_path / "kiosk-1", broker)
    yield k
    k.stop()


def test_a_press_prints_a_ticket_with_the_right_number(gateway, kiosk):
    kiosk.start()
    kiosk.press(1)
    kiosk.wait_printed(["B001"])
    printed = kiosk.printed()
    assert printed.startswith(b"\x1b@\x1ba\x01") and printed.endswith(b"\x1dVB\x00")
    assert list(gateway.dispatcher.state.tickets) == ["B001"]
    time.sleep(2.2)  # the board reports its heap's high-water mark every 2 s
    peaks = [int(line.split()[1]) for line in kiosk.kill().splitlines() if line.startswith("heap_peak")]
    assert peaks and 0 < peaks[-1] < 64 * 1024 * 2  # inside the 64 K-word heap it ran in
    print(f"kiosk heap peak: {peaks[-1]} bytes on the 64-bit unix port")


def test_priority_button_then_a_service(gateway, kiosk):
    kiosk.start()
    kiosk.press(6)  # the priority button
    kiosk.press(0)
    kiosk.wait_printed(["A001"])
    assert gateway.dispatcher.state.tickets["A001"].priority == "cao_tuoi"


def test_wifi_drop_and_a_power_cut_lose_no_press_and_make_no_duplicate(gateway, kiosk):
    kiosk.start()
    kiosk.press(0)
    kiosk.wait_printed(["A001"])
    kiosk.wifi(False)
    for button in (0, 1, 0):
        kiosk.press(button)  # kept on flash while the Wi-Fi is down
    time.sleep(0.5)
    assert len(gateway.dispatcher.state.tickets) == 1
    kiosk.wifi(True)
    kiosk.wait_printed(["A002", "B001", "A003"])
    kiosk.wifi(False)
    kiosk.press(1)
    kiosk.press(1)
    time.sleep(0.3)
    log = kiosk.kill()  # a power cut with two presses not yet acknowledged
    kiosk.wifi(True)
    kiosk.start()  # they are read back from flash and sent again
    deadline = time.monotonic() + 30
    while len(gateway.dispatcher.state.tickets) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(gateway.dispatcher.state.tickets) == ["A001", "A002", "A003", "B001", "B002", "B003"], log
    time.sleep(1.0)
    assert len(gateway.dispatcher.state.tickets) == 6  # and nothing twice
