"""One board's whole firmware on the MicroPython unix port, with simulated hardware
(firmware/sim): its flash is a folder, and its pins, Wi-Fi, printer UART and display SPI are
files there. The tests, the benchmarks and the demo run boards this way.

A finger on a button is a pin file set to 0 and back; a ticket printed is bytes appended to
`uart2.bin`; the board's serial console goes to `console.log` in its folder. Like a real board it
reaches the broker over TLS only: `broker` is the TLS listener, `ca` the center's CA (PEM), which
goes on its flash as provisioning puts it there (`ca.crt`, DER).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boards
from gateway.pki import der

from .provision import BOARD_CA

ROOT = Path(__file__).resolve().parent.parent
APP, SIM = ROOT / "firmware" / "app", ROOT / "firmware" / "sim"
MICROPYTHON = Path(sys.executable).parent / "micropython"
KEYPAD = ("123A", "456B", "789C", "*0#D")
PAPER_REPLY = {"ok": b"\x12", "low": b"\x1e", "out": b"\x72"}  # DLE EOT 4 status: bits 2-3 low, 5-6 out
# A board's MicroPython heap, in words: 64 K of them is the 64 KB the tests give an ESP32's 32-bit
# objects (128 KB on this 64-bit port, where every pointer is twice as big; docs/performance.md).
HEAP = "64wK"


class HostBoard:
    def __init__(
        self,
        folder: Path,
        role: str,
        device: str,
        center: str,
        broker: tuple[str, int],
        password: str,
        extra: dict | None = None,
        board: str = "esp32-devkitc",
        trace_pins: tuple[int, ...] = (),
        *,
        ca: Path,
        heap: str = HEAP,
    ):
        self.folder, self.role, self.device, self.heap = folder, role, device, heap
        self.profile = boards.load(board)
        self.pins = self.profile.pins(role)
        self.trace_pins = trace_pins
        (folder / "pins").mkdir(parents=True, exist_ok=True)
        (folder / BOARD_CA).write_bytes(der(Path(ca).read_bytes()))
        config = {
            "role": role, "device": device, "center": center, "board": board, "rev": "1",
            "wifi": {"ssid": "TTPVHCC", "password": "x"},
            "broker": {"host": broker[0], "port": broker[1], "password": password}, "ca": BOARD_CA,
            "pins": self.pins, **(extra or {}),
        }  # fmt: skip
        (folder / "config.json").write_text(json.dumps(config))
        self.proc: subprocess.Popen | None = None

    def launch(self) -> tuple[list[str], dict]:
        """The command and environment that run the whole firmware as this board (its heap)."""
        pins = ",".join(map(str, self.trace_pins))
        env = {**os.environ, "MICROPYPATH": f"{SIM}:{APP}:.frozen", "HANGCHO_CAPTURE": str(self.folder),
               "HANGCHO_CHIP": self.profile.chip, "HANGCHO_TRACE_PINS": pins}  # fmt: skip
        return [str(MICROPYTHON), "-X", f"heapsize={self.heap}", "-c", "import main; main.main()"], env

    def start(self) -> HostBoard:
        """Power on; the console is appended to console.log."""
        args, env = self.launch()
        with open(self.folder / "console.log", "ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        path = self.folder / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def press(self, button: int, hold_s: float = 0.08) -> None:
        """Buttons 0… are the services, then the priority button."""
        gpio = (self.pins["buttons"] + [self.pins["priority_button"]])[button]
        (self.folder / "pins" / str(gpio)).write_text("0")
        time.sleep(hold_s)
        (self.folder / "pins" / str(gpio)).write_text("1")
        time.sleep(hold_s)

    def key(self, key: str, hold_s: float = 0.25) -> None:
        """Hold a key of the 4x4 keypad for a moment, as a finger would (the firmware wants it
        stable for 45 ms down and up)."""
        row = next(r for r, line in enumerate(KEYPAD) if key in line)
        col = KEYPAD[row].index(key)
        rows, cols = self.pins["keypad"]["rows"], self.pins["keypad"]["cols"]
        (self.folder / "matrix").write_text(f"{rows[row]} {cols[col]}\n")
        time.sleep(hold_s)
        (self.folder / "matrix").write_text("")
        time.sleep(hold_s * 0.8)

    def wifi(self, up: bool) -> None:
        (self.folder / "wifi").write_text("up" if up else "down")

    def paper(self, state: str) -> None:
        """What the printer answers to the paper sensor's question (DLE EOT 4): "ok", "low" or
        "out"; until this is set it answers nothing and the kiosk reports "unknown"."""
        (self.folder / "uart2.reply").write_bytes(PAPER_REPLY[state])

    def printed(self) -> bytes:
        path = self.folder / "uart2.bin"
        return path.read_bytes() if path.exists() else b""

    def kill(self) -> str:
        """A power cut: SIGKILL, nothing flushed. Returns what the board printed."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return self.output()

    def stop(self) -> str:
        return self.kill() if self.proc and self.proc.poll() is None else ""

    def heap_peak(self) -> int:
        """The largest live heap the board reported (bytes, on this host's word size)."""
        peaks = [int(line.split()[1]) for line in self.output().splitlines() if line.startswith("heap_peak ")]
        return max(peaks, default=0)
