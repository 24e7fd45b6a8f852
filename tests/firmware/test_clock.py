"""The board's clock is the gateway's time, not its RTC: an ESP32's RTC starts in 2000 at power-up
(firmware/sim/time.py plays that), so judging `exp` by time.time() would take every command."""

from __future__ import annotations

import json
import time

from tests.firmware.conftest import FIRMWARE

CLOCK = """
from clock import Clock
c = Clock()
print(c.now_ms(), c.expired(1795394400))
c.set(1795394400123, ticks=1000)
print(c.now_ms(ticks=3500), c.expired(1795394402, ticks=3500), c.expired(1795394403, ticks=3500))
print(c.now_ms(ticks=0x3FFFFFFF & (1000 - 500)))
"""


def test_the_clock_counts_from_the_gateways_time_in_integers(micropython):
    out = micropython(CLOCK).split("\n")
    assert out[0] == "None None"
    assert out[1] == "1795394402623 True False"  # 2.5 s later; exp is whole seconds
    assert out[2] == "1795394399623"  # a reading before the time came: ticks_diff, not subtraction
    assert "time.time()" not in (FIRMWARE / "clock.py").read_text().split('"""')[0].split("import time")[1]


def _print(ticket: str, exp: float) -> str:
    return json.dumps({"exp": int(exp), "ticket": ticket, "rev": "", "ops": [["big", ticket], ["cut"]]})


def _wait_console(board, text: str, count: int = 1, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while (out := board.output()).count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} not on the console ×{count}:\n{out[-1500:]}"
        assert board.proc.poll() is None, out
        time.sleep(0.05)
    return out


def test_a_board_whose_rtc_starts_in_2000_drops_an_expired_command(gateway, sim_board, boards):
    kiosk = sim_board("kiosk", "kiosk-1").start().wait_online(gateway)
    rig = boards("rig", user="rig")
    rig.publish("cmd/print", _print("S001", time.time() - 60), device="kiosk-1")  # stale: never shown late
    rig.publish("cmd/print", _print("F001", time.time() + 30), device="kiosk-1")
    kiosk.wait_printed(["F001"])
    assert b"S001" not in kiosk.printed()
    _wait_console(kiosk, "link: expired print")


def test_commands_before_the_first_time_are_held_then_judged(broker, sim_board, boards):
    """No gateway, so no time: two commands are held, the third dropped; when the time comes the
    held ones are judged by it: the stale one dropped, the fresh one printed."""
    kiosk = sim_board("kiosk", "kiosk-1").start()
    _wait_console(kiosk, "link: online", timeout=30)
    rig = boards("rig", user="rig")
    for ticket, exp in (("S001", time.time() - 60), ("F001", time.time() + 60), ("F002", time.time() + 60)):
        rig.publish("cmd/print", _print(ticket, exp), device="kiosk-1")
    _wait_console(kiosk, "link: held print until the gateway's time", count=2)
    _wait_console(kiosk, "link: no time yet; dropped print")
    assert kiosk.printed() == b""
    rig.publish("time", json.dumps({"ms": int(time.time() * 1000)}), device="gateway", qos=0)
    kiosk.wait_printed(["F001"])
    _wait_console(kiosk, "link: expired print")
    assert b"S001" not in kiosk.printed() and b"F002" not in kiosk.printed()
