"""The counter's whole program on MicroPython: keypad in, 7-segment display out, real gateway."""

from __future__ import annotations

import time

import boards as profiles
from tests.firmware.conftest import tm1637_history


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {check}")


def test_keypad_next_shows_the_number_on_the_counter_and_the_hall(gateway, sim_board, boards):
    kiosk, hall = boards("kiosk-1"), boards("hall-1")
    kiosk.ack_for(kiosk.press(button=0))
    counter = sim_board("counter", "counter-1").start().wait_online(gateway)
    counter.key("0")  # open the counter
    wait_for(lambda: gateway.dispatcher.state.counters[1].status == "open")
    counter.key("A")  # call next
    wait_for(lambda: counter.shown() == "A001")
    assert hall.wait_for("display", lambda b: b["calls"])["calls"][0] == {"ticket": "A001", "counter": 1}
    counter.key("C")  # start
    counter.key("7")  # complete: forwarded
    wait_for(lambda: gateway.dispatcher.state.tickets["A001"].state == "done")
    t = gateway.dispatcher.state.tickets["A001"]
    assert (t.outcome, t.forwarded_to) == ("forwarded", "Cơ quan chuyên môn")
    wait_for(lambda: counter.shown() == "")
    counter.key("4")  # the citizen rates the service on the same keypad
    wait_for(lambda: gateway.dispatcher.state.tickets["A001"].rating == 4)


def test_a_refused_key_shows_an_error_code(gateway, sim_board):
    counter = sim_board("counter", "counter-1").start().wait_online(gateway)
    counter.key("C")  # start with nobody called: refused
    counter.key("6")  # complete with nobody served: refused, and shown
    wait_for(lambda: counter.shown() == "E-1")


def test_a_tm1637_counter_display_on_an_esp32_s3(gateway, sim_board, boards, dut):
    """The S3 profile wires a TM1637: its two-wire bus is decoded from a trace of its two pins."""
    pins = profiles.load("esp32-s3-devkitc").pins("counter")["display"]
    counter = sim_board(
        "counter", "counter-1", board="esp32-s3-devkitc", trace_pins=(pins["clk"], pins["dio"]), extra={"tele_s": 1}
    )
    (counter.folder / "temperature").write_text("51")
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0))
    counter.start()
    dut.expect("link: online", timeout=30)
    counter.wait_online(gateway)
    counter.key("0")
    counter.key("A")
    wait_for(lambda: counter.shown() == "A001")
    frames = counter.tm1637_frames()
    assert frames[:3] == [[0x40], [0xC0, 0, 0, 0, 0], [0x8C]]  # data command, four blanks, display on
    before = len(tm1637_history(counter.tm1637_frames()))
    counter.key("C")
    counter.key("C")  # started twice: refused, and shown
    # shown at some point: the gateway's own display update for the first start may land after it
    wait_for(lambda: "E-1" in tm1637_history(counter.tm1637_frames())[before:])
    wait_for(lambda: gateway.registry.entries["counter-1"].tele.get("chip_c") == 51)  # the S3's Celsius sensor
    peak = int(dut.expect(r"heap_peak (\d+) free", timeout=5).group(1))
    assert 0 < peak < 64 * 1024 * 2
    print(f"counter heap peak: {peak} bytes on the 64-bit unix port")
