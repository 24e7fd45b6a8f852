"""Device faults on the real firmware (MicroPython unix port, simulated pins and Wi-Fi):
Wi-Fi flapping while citizens press, and power cuts with presses not yet acknowledged. Scored
by faults/checker.py: every press made is one ticket, none twice, none from nowhere."""

from __future__ import annotations

import random
import time

from faults.checker import check_counted, rounds


def wait_tickets(gateway, board, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(gateway.dispatcher.state.tickets) < n:
        assert time.monotonic() < deadline, f"{len(gateway.dispatcher.state.tickets)} of {n}: {board.output()[-2000:]}"
        time.sleep(0.05)
    time.sleep(1.5)  # a resend of something already issued would show up by now


def restart(gateway, board, timeout: float = 20) -> None:
    """Power on again and wait for the board's new `info`: its program is up and scanning (a
    press while it still boots reaches nobody, on a real board too)."""
    entry = gateway.registry.entries[board.device]
    before = entry.info
    board.start()
    deadline = time.monotonic() + timeout
    while entry.info is before:
        assert time.monotonic() < deadline, f"never came back: {board.output()[-2000:]}"
        time.sleep(0.05)


def test_wifi_flapping_while_citizens_press(gateway, sim_board, tmp_path, scored):
    kiosk = sim_board("kiosk", "kiosk-1").start().wait_online(gateway)
    rng, n, made = random.Random(3), rounds(full=20, quick=3), 0
    for _ in range(n):
        kiosk.wifi(False)
        for _ in range(rng.randrange(1, 4)):  # presses while the link is down: kept on flash
            kiosk.press(rng.randrange(2))
            made += 1
        time.sleep(rng.uniform(0.0, 0.8))
        kiosk.wifi(True)
        for _ in range(rng.randrange(0, 3)):  # and while it comes back
            kiosk.press(rng.randrange(2))
            made += 1
        time.sleep(rng.uniform(0.0, 1.0))
    wait_tickets(gateway, kiosk, made)
    score = check_counted("Wi-Fi flapping on a kiosk", {"kiosk-1": made}, tmp_path / "journal.db")
    score.rounds = n
    scored(score)


def test_power_cuts_with_unacknowledged_presses(gateway, sim_board, tmp_path, scored):
    kiosk = sim_board("kiosk", "kiosk-1").start().wait_online(gateway)
    rng, n, made = random.Random(5), rounds(full=10, quick=2), 0
    for i in range(n):
        offline = i % 2 == 0  # every other cut happens while the presses cannot be acknowledged
        kiosk.wifi(not offline)
        for _ in range(rng.randrange(1, 4)):
            kiosk.press(rng.randrange(2))
            made += 1
        time.sleep(rng.uniform(0.0, 0.3))
        kiosk.kill()  # the power goes: nothing flushed
        kiosk.wifi(True)
        restart(gateway, kiosk)
    wait_tickets(gateway, kiosk, made)
    score = check_counted("power cut of a kiosk with unacknowledged presses", {"kiosk-1": made},
                          tmp_path / "journal.db")  # fmt: skip
    score.rounds = n
    scored(score)
