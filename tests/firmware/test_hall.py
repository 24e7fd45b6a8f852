"""The hall board's program on MicroPython: the latest call on a chain of eight LED matrices."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from PIL import Image

FONT = Path(__file__).resolve().parents[2] / "firmware" / "app" / "font5x7.py"
MODULES = 8


def font():
    spec = importlib.util.spec_from_file_location("font5x7", FONT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def framebuffer(capture: bytes) -> list[int]:
    """The columns the matrices show now: the last frame written to each row register."""
    rows: dict[int, bytes] = {}
    for i in range(0, len(capture) - 2 * MODULES + 1, 2 * MODULES):
        frame = capture[i : i + 2 * MODULES]
        if 1 <= frame[0] <= 8:
            rows[frame[0] - 1] = frame[1::2]
    cols = [0] * (MODULES * 8)
    for row, data in rows.items():
        for m, bits in enumerate(data):
            for x in range(8):
                if bits & (0x80 >> x):
                    cols[m * 8 + x] |= 1 << row
    return cols


def shows(cols: list[int], want: list[int]) -> bool:
    """The lit columns, from the first one, begin with `want` (the text is centred)."""
    first = next((i for i, c in enumerate(cols) if c), None)
    return first is not None and cols[first : first + len(want)] == want


def test_the_latest_call_is_shown_on_the_matrix(gateway, sim_board, boards, tmp_path, dut):
    hall = sim_board("hall", "hall-1").start().wait_online(gateway)
    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    kiosk.ack_for(kiosk.press(button=0))
    counter.ack_for(counter.key("open"))
    counter.ack_for(counter.key("next"))
    want = list(font().columns("A001>1"))
    path = hall.folder / "spi2.bin"
    deadline = time.monotonic() + 15
    cols: list[int] = []
    while not shows(cols, want):
        assert time.monotonic() < deadline, f"the matrix does not show A001>1: {cols}"
        time.sleep(0.05)
        cols = framebuffer(path.read_bytes()) if path.exists() else []
    image = Image.new("1", (MODULES * 8, 8))
    for x, c in enumerate(cols):
        for y in range(8):
            image.putpixel((x, y), (c >> y) & 1)
    image.resize((MODULES * 8 * 8, 64)).save(tmp_path / "hall-matrix.png")
    peak = int(dut.expect(r"heap_peak (\d+) free", timeout=5).group(1))  # reported every 2 s
    assert 0 < peak < 64 * 1024 * 2
    print(f"hall heap peak: {peak} bytes on the 64-bit unix port")
