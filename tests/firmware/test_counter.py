"""The counter's whole program on MicroPython: keypad in, 7-segment display out, real gateway."""

from __future__ import annotations

import time


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
