"""kill -9 of the gateway at random moments during bursts of presses, and of Mosquitto during
QoS 1 traffic. The kiosks resend every press until it is acknowledged, as the firmware does;
the checker then finds every press exactly once in the journal, under its own ticket."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

from faults.checker import check_presses, rounds
from rig.gateway import start_gateway

SMALL_CENTER = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"
# Presses a second in the gateway-kill bursts: 20 rounds of 1.1 s stay under the 2 × 999 numbers
# services A and B have in a day (more would be refused, rightly, and counted as lost).
RATE = 70.0


def fast_center(tmp_path: Path) -> Path:
    """The small center with its kiosks' budgets raised: these bursts (35 presses a second a kiosk)
    test durability, not the budget a real hall never reaches (docs/dispatch.md, Budgets)."""
    path = tmp_path / "fast-center.toml"
    path.write_text(SMALL_CENTER.read_text(encoding="utf-8") + "\n[budgets]\npress_per_s = 500\npress_burst = 500\n")
    return path


def burst(kiosks, rng: random.Random, seconds: float, rate: float = 100.0) -> int:
    """Presses on alternating kiosks at about `rate` a second; returns how many."""
    n, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        kiosks[n % len(kiosks)].press(button=rng.randrange(2))
        n += 1
        time.sleep(1 / rate)
    return n


def stop(gateway) -> None:
    gateway.send_signal(signal.SIGTERM)
    gateway.wait(timeout=10)


def settle(fault: str, kiosks, gateway, journal, rounds_run: int):
    """Every press acknowledged (the kiosks keep resending), the gateway stopped, then the score."""
    try:
        for k in kiosks:
            k.wait_all_acked(timeout=60)
    finally:
        stop(gateway)
    sent = set().union(*(k.sent for k in kiosks))
    acked = {i: ack for k in kiosks for i, ack in k.acked.items()}
    score = check_presses(fault, sent, acked, journal)
    score.rounds = rounds_run
    return score


def test_kill_9_of_the_gateway_at_random_moments(broker, kiosk_with_outbox, tmp_path, scored):
    journal, log = tmp_path / "journal.db", tmp_path / "gateway.log"
    config = fast_center(tmp_path)
    start = lambda: start_gateway(config, broker.port, broker.files.secrets, journal, log)  # noqa: E731
    kiosks = [kiosk_with_outbox("kiosk-1"), kiosk_with_outbox("kiosk-2")]
    rng, n = random.Random(7), rounds(full=20, quick=3)
    gateway = start()
    try:
        for _ in range(n):
            # The kill lands at a random moment inside the burst, from another thread.
            killer = threading.Timer(rng.uniform(0.1, 0.9), os.kill, (gateway.pid, signal.SIGKILL))
            killer.start()
            burst(kiosks, rng, 1.0, RATE)
            killer.join()
            gateway.wait()
            burst(kiosks, rng, 0.1, RATE)  # while it is down
            gateway = start()
    except BaseException:
        stop(gateway)
        raise
    scored(settle("kill -9 of the gateway during presses", kiosks, gateway, journal, n))


def test_kill_9_of_mosquitto_during_qos1_traffic(broker, kiosk_with_outbox, tmp_path, scored):
    journal, log = tmp_path / "journal.db", tmp_path / "gateway.log"
    gateway = start_gateway(fast_center(tmp_path), broker.port, broker.files.secrets, journal, log)
    kiosks = [kiosk_with_outbox("kiosk-1"), kiosk_with_outbox("kiosk-2")]
    rng, n = random.Random(11), rounds(full=5, quick=1)
    try:
        for _ in range(n):
            killer = threading.Timer(rng.uniform(0.2, 0.8), broker.stop, kwargs={"kill": True})
            killer.start()
            burst(kiosks, rng, 1.0)  # presses go on while the broker is gone
            killer.join()
            broker.start()
            burst(kiosks, rng, 0.3)
    except BaseException:
        stop(gateway)
        raise
    scored(settle("kill -9 of Mosquitto during QoS 1 traffic", kiosks, gateway, journal, n))
