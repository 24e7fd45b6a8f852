"""Run firmware code on the real MicroPython interpreter (the unix port from PyPI)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from gateway.ticket import printed_numbers
from tech.hostboard import HEAP, MICROPYTHON, HostBoard

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware" / "app"


def run_micropython(script: str, cwd: Path, heap: str = "64wK", timeout: float = 30, path_extra: str = "") -> str:
    """Run a script with the firmware on the module path; return its output or fail with it.

    `path_extra` goes first on the path: the simulated `machine` module shadows the built-in one."""
    path = f"{path_extra}:{FIRMWARE}:.frozen" if path_extra else f"{FIRMWARE}:.frozen"
    env = {**os.environ, "MICROPYPATH": path}
    proc = subprocess.run(
        [str(MICROPYTHON), "-X", f"heapsize={heap}", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def micropython(tmp_path):
    """micropython(script) runs it in a fresh folder that plays the board's flash."""
    return lambda script, **kw: run_micropython(script, tmp_path, **kw)


@pytest.fixture
def micropython_process(tmp_path):
    """Start a script on MicroPython as a process (to kill it): returns a Popen."""

    def start(script: str, heap: str = "64wK") -> subprocess.Popen:
        env = {**os.environ, "MICROPYPATH": f"{FIRMWARE}:.frozen"}
        return subprocess.Popen(
            [str(MICROPYTHON), "-X", f"heapsize={heap}", "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

    return start


@pytest.fixture
def board_ca(broker, tmp_path) -> str:
    """The center's CA as a board keeps it (ca.crt, DER), in the folder the micropython fixtures
    run in: a script connects with `MQTTClient(..., ssl=trust.context("ca.crt"))` to the TLS port."""
    from gateway.pki import der

    (tmp_path / "ca.crt").write_bytes(der(broker.files.ca.read_bytes()))
    return "ca.crt"


class SimBoard(HostBoard):
    """A simulated board running the whole firmware (tech/hostboard.py) against the test's broker.
    When it is the test's `dut` its console also goes to pytest-embedded's message queue."""

    def __init__(self, folder: Path, broker, role: str, device: str, extra: dict | None = None,
                 board: str = "esp32-devkitc", msg_queue=None, trace_pins: tuple[int, ...] = (),
                 heap: str = HEAP):  # fmt: skip
        super().__init__(folder, role, device, "test", ("127.0.0.1", broker.tls_port), broker.password(device), extra,
                         board, trace_pins, ca=broker.files.ca, heap=heap)  # fmt: skip
        self.msg_queue = msg_queue

    def start(self) -> SimBoard:
        """Power the board on. Its console goes to pytest-embedded's `dut` when this board is the
        test's `dut` (the first one a test makes), else to console.log."""
        from pytest_embedded.log import DuplicateStdoutPopen

        if self.msg_queue is None:
            return super().start()
        args, env = self.launch()
        self.proc = DuplicateStdoutPopen(self.msg_queue, args, cwd=self.folder, env=env)
        return self

    def console(self) -> str:
        """All the board has printed so far (its serial console), when it is the `dut`'s board."""
        return Path(self.proc._logfile).read_text(errors="replace")

    def wait_printed(self, tickets: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(tickets) <= set(printed_numbers(self.printed())):
                return
            assert self.proc.poll() is None, self.output()
            time.sleep(0.05)
        raise AssertionError(f"not printed: {tickets}; printed {self.printed()[-200:]!r}")

    def output(self) -> str:
        return self.console() if self.msg_queue is not None else super().output()

    def kill(self) -> str:
        out = super().kill()
        if self.msg_queue is not None:
            self.proc.close()
        return out

    def wait_online(self, gateway, timeout: float = 20) -> SimBoard:
        """Until the gateway has the board's birth message: its program is up and scanning."""
        deadline = time.monotonic() + timeout
        entry = gateway.registry.entries[self.device]
        while entry.status != "online":
            assert time.monotonic() < deadline and self.proc.poll() is None, f"never came online: {self.output()}"
            time.sleep(0.05)
        return self

    def tm1637_frames(self) -> list[list[int]]:
        return tm1637_frames(self.folder / "pins.trace", self.pins["display"]["clk"], self.pins["display"]["dio"])

    def shown(self) -> str:
        """What the 4-digit 7-segment display shows now, decoded from what its chip received."""
        if self.pins["display"]["kind"] == "tm1637":
            return tm1637_shown(self.tm1637_frames())
        from_font = {v: k for k, v in SEGMENTS.items()}
        digits: dict[int, str] = {}
        path = self.folder / "spi2.bin"
        data = path.read_bytes() if path.exists() else b""
        for reg, value in zip(data[::2], data[1::2], strict=False):
            if 1 <= reg <= 8:
                digits[reg] = from_font.get(value, "?")
        return "".join(digits.get(n, " ") for n in range(4, 0, -1)).strip()


SEGMENTS = {
    "0": 0x7E,
    "1": 0x30,
    "2": 0x6D,
    "3": 0x79,
    "4": 0x33,
    "5": 0x5B,
    "6": 0x5F,
    "7": 0x70,
    "8": 0x7F,
    "9": 0x7B,
    "A": 0x77,
    "B": 0x1F,
    "C": 0x4E,
    "D": 0x3D,
    "E": 0x4F,
    "F": 0x47,
    "-": 0x01,
    " ": 0x00,
}  # fmt: skip  (what the segments of each character are: a test's own reading of the display)


def tm1637_frames(trace: Path, clk: int, dio: int) -> list[list[int]]:
    """Decode a TM1637 two-wire bus from a logic-analyser trace ("gpio value" lines): a frame runs
    from a start (DIO falls while CLK is high) to a stop (DIO rises while CLK is high); a bit is
    DIO at CLK's rising edge, LSB first, and every ninth clock is the chip's ACK."""
    level = {clk: 1, dio: 1}
    frames: list[list[int]] = []
    bits: list[int] | None = None
    for line in trace.read_text().splitlines() if trace.exists() else []:
        gpio, value = map(int, line.split())
        if gpio == dio and level[clk] == 1 and value != level[dio]:
            if value == 0:
                bits = []
            elif bits is not None:
                whole = len(bits) - len(bits) % 9  # the stop's own clock adds one bit
                frames.append([sum(b << i for i, b in enumerate(bits[n : n + 8])) for n in range(0, whole, 9)])
                bits = None
        elif gpio == clk and value == 1 and level[clk] == 0 and bits is not None:
            bits.append(level[dio])
        level[gpio] = value
    return frames


def tm1637_history(frames: list[list[int]]) -> list[str]:
    """Every four digits the TM1637 received, in order (an address-0 command followed by four bytes)."""
    from_font = {sum(1 << i for i in range(7) if v & (1 << (6 - i))): k for k, v in SEGMENTS.items()}
    writes = [f for f in frames if len(f) == 5 and f[0] == 0xC0]
    return ["".join(from_font.get(b, "?") for b in w[1:]).strip() for w in writes]


def tm1637_shown(frames: list[list[int]]) -> str:
    """The four digits the TM1637 last received."""
    history = tm1637_history(frames)
    return history[-1] if history else ""


@pytest.fixture
def sim_board(broker, tmp_path, msg_queue):
    """Start a simulated board: sim_board("kiosk", "kiosk-1") or sim_board("counter", "counter-1").
    The first board a test makes is its `dut`: `dut.expect(...)` reads that board's console."""
    started = []

    def make(role: str, device: str, extra: dict | None = None, **kw) -> SimBoard:
        board = SimBoard(tmp_path / device, broker, role, device, extra, msg_queue=None if started else msg_queue, **kw)
        started.append(board)
        return board

    yield make
    for board in started:
        board.stop()


@pytest.fixture
def firmware_console(request, msg_queue, broker, tmp_path):
    """The firmware's serial console behind pytest-embedded's `dut`.

    With `--port` (pytest-embedded's serial service) the `dut` is a real board and nothing is
    started here. Without it the whole firmware runs on the MicroPython unix port, its output
    going into the same message queue the `dut` reads, so `dut.expect(...)` works either way.
    """
    from pytest_embedded.log import DuplicateStdoutPopen

    if request.config.getoption("port", None):
        yield None
        return
    board = SimBoard(tmp_path / "kiosk-1", broker, "kiosk", "kiosk-1")
    args, env = board.launch()
    proc = DuplicateStdoutPopen(msg_queue, args, cwd=board.folder, env=env)
    yield board
    proc.terminate()
    proc.wait(timeout=10)
