"""identify and keypad test, sent by `hangcho-tech` through the real broker to the whole firmware
running on MicroPython (simulated pins, printer and displays)."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.config import load_center
from gateway.ticket import GLYPH_LINES, decode_escpos, printed_png
from tech.cli import main
from tech.hostboard import HEAP
from tech.identify import IdentifyError, messages

SMALL_CENTER = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"


def tech(broker, command, device, *extra):
    args = [command, "--device", device, "--config", str(SMALL_CENTER), "--broker", f"127.0.0.1:{broker.port}",
            "--broker-dir", str(broker.files.secrets.parent), *extra]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("heap", [HEAP, "48wK"])
def test_a_kiosk_blinks_and_prints_every_vietnamese_glyph(gateway, broker, sim_board, dut, heap):
    """Also on a heap of three quarters the size: with a TLS session up, the blocks arrive in
    parts a fragmented heap has room for (a whole block once found no room with 47 KB free)."""
    led = 4
    kiosk = sim_board("kiosk", "kiosk-1", trace_pins=(led,), heap=heap).start().wait_online(gateway)
    tech(broker, "identify", "kiosk-1", "--seconds", "2")
    dut.expect("identify", timeout=10)
    dut.expect("printed TEST", timeout=10)
    ops = decode_escpos(kiosk.printed())
    assert sum(op[0] == "raster" for op in ops) == 1 + len(GLYPH_LINES)  # the center's name, then the glyphs
    assert ("qr", "https://hangcho.test/glyphs") in [op[:2] for op in ops]
    (kiosk.folder / "test-ticket.png").write_bytes(printed_png(kiosk.printed(), 384))  # for a person to look at
    time.sleep(2.5)
    toggles = [line for line in (kiosk.folder / "pins.trace").read_text().splitlines() if line.startswith(f"{led} ")]
    assert len(toggles) >= 6, toggles  # blinking at 2 Hz for 2 s, then steady again (linked: on)
    assert toggles[-1] == f"{led} 1"


def test_a_counter_shows_8888_then_its_keys_in_keypad_test(gateway, broker, sim_board):
    counter = sim_board("counter", "counter-1").start().wait_online(gateway)
    tech(broker, "identify", "counter-1", "--seconds", "1")
    wait_for(lambda: counter.shown() == "8888")
    wait_for(lambda: counter.shown() == "", timeout=5)  # back to what it showed: nobody
    tech(broker, "keypad-test", "counter-1", "--seconds", "3")
    wait_for(lambda: counter.shown() == "8888")
    counter.key("0")  # "open the counter", but in test mode it is only shown
    wait_for(lambda: counter.shown() == "0")
    counter.key("A")
    wait_for(lambda: counter.shown() == "A")
    assert gateway.dispatcher.state.counters[1].status == "closed"  # nothing was sent


def test_a_hall_board_lights_every_led(gateway, broker, sim_board):
    hall = sim_board("hall", "hall-1").start().wait_online(gateway)
    spi = hall.folder / "spi2.bin"
    before = spi.read_bytes() if spi.exists() else b""
    tech(broker, "identify", "hall-1", "--seconds", "1")
    # every row register of all eight modules set to 0xFF: every LED on
    wait_for(lambda: all(bytes((row, 0xFF)) * 8 in spi.read_bytes()[len(before) :] for row in range(1, 9)))


def test_identify_refuses_what_cannot_be():
    center = load_center(SMALL_CENTER)
    with pytest.raises(IdentifyError, match="no device 'kiosk-9'"):
        messages(center, "kiosk-9", 10, False, 0.0)
    with pytest.raises(IdentifyError, match="only a counter has a keypad"):
        messages(center, "kiosk-1", 10, True, 0.0)
    assert [leaf for leaf, _ in messages(center, "counter-1", 10, True, 0.0)] == ["cmd/identify"]


def test_the_test_ticket_holds_every_vietnamese_letter_with_every_tone():
    tones = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # level, huyền, hỏi, ngã, sắc, nặng
    vowels = "aăâeêioôơuưy"
    wanted = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones} | set("bcdđghklmnpqrstvx")
    wanted |= {c.upper() for c in wanted} | set("0123456789")
    assert wanted <= set("".join(GLYPH_LINES))
