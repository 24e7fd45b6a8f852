"""The kiosk's whole program on MicroPython (64 KB heap) with simulated pins, Wi-Fi and printer,
against a real Mosquitto and the real gateway."""

from __future__ import annotations

import time

import pytest

from gateway.ticket import decode_escpos, printed_png


@pytest.fixture
def kiosk(sim_board):
    return sim_board("kiosk", "kiosk-1")


def test_a_press_prints_a_ticket_with_the_right_number(gateway, kiosk, dut):
    kiosk.start()
    dut.expect("link: online", timeout=30)
    kiosk.wait_online(gateway)
    gpio = kiosk.folder / "pins" / str(kiosk.pins["buttons"][1])
    gpio.write_text("0")  # the finger goes down, and stays until the ticket prints
    pressed = time.monotonic()
    kiosk.wait_printed(["B001"])
    print(f"press to print: {(time.monotonic() - pressed) * 1000:.0f} ms, 30 ms of it debouncing")
    dut.expect("printed B001", timeout=5)
    gpio.write_text("1")
    printed = kiosk.printed()
    assert printed.startswith(b"\x1b@\x1ba\x01") and printed.endswith(b"\x1dVB\x00")
    kinds = [op[0] for op in decode_escpos(printed)]
    assert ("text", 0x77, "B001") in decode_escpos(printed)  # the big number (8 ×), and nothing else on its line
    assert kinds.count("raster") >= 8, "the Vietnamese text printed from the cached raster blocks"
    (kiosk.folder / "ticket.png").write_bytes(printed_png(printed, 384))  # for a person to look at
    assert list(gateway.dispatcher.state.tickets) == ["B001"]
    peak = int(dut.expect(r"heap_peak (\d+) free", timeout=5).group(1))  # reported every 2 s
    assert 0 < peak < 64 * 1024 * 2  # inside the 64 K-word heap it ran in
    print(f"kiosk heap peak: {peak} bytes on the 64-bit unix port")


def test_priority_button_then_a_service(gateway, kiosk):
    kiosk.start().wait_online(gateway)
    kiosk.press(6)  # the priority button
    kiosk.press(0)
    kiosk.wait_printed(["A001"])
    assert gateway.dispatcher.state.tickets["A001"].priority == "cao_tuoi"


def test_wifi_drop_and_a_power_cut_lose_no_press_and_make_no_duplicate(gateway, kiosk):
    kiosk.start().wait_online(gateway)
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


def test_telemetry_reports_paper_and_health(gateway, sim_board):
    kiosk = sim_board("kiosk", "kiosk-1", extra={"tele_s": 1})
    (kiosk.folder / "uart2.reply").write_bytes(b"\x0c")  # the paper sensor: paper low
    kiosk.start().wait_online(gateway)
    entry = gateway.registry.entries["kiosk-1"]
    deadline = time.monotonic() + 15
    while entry.tele.get("paper") != "low":
        assert time.monotonic() < deadline, entry.tele
        time.sleep(0.05)
    assert entry.tele["outbox"] == 0 and entry.tele["rssi"] == -55 and entry.tele["free_heap"] > 0
    assert entry.tele["chip_c"] == 45  # the classic ESP32's Fahrenheit sensor, read back in Celsius
    (kiosk.folder / "uart2.reply").write_bytes(b"\x60")  # now out
    while entry.tele.get("paper") != "out":
        assert time.monotonic() < deadline + 5, entry.tele
        time.sleep(0.05)
    assert entry.info["role"] == "kiosk" and entry.info["board"] == "esp32-devkitc"
