"""The gateway process killed with -9, and Mosquitto restarted, in the middle of presses.

The kiosks resend every press until acknowledged, as the firmware does. Afterwards every press
has exactly one ticket, no number was issued twice, and the journal holds exactly those tickets.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config import load_center
from gateway.dispatcher import Dispatcher

CONFIG = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"
CLI = Path(sys.executable).parent / "hangcho-gateway"


def start_gateway(broker, journal: Path, log: Path) -> subprocess.Popen:
    args = [str(CLI), "run", "--config", str(CONFIG), "--journal", str(journal)]
    args += ["--broker", f"127.0.0.1:{broker.port}", "--secrets", str(broker.files.secrets)]
    args += ["--http", "127.0.0.1:0", "--audio", "none"]
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=out)


def check_one_ticket_per_press(kiosks, journal: Path) -> None:
    acks = [ack for k in kiosks for ack in k.acked.values()]
    assert all(ack["ok"] for ack in acks)
    tickets = [ack["ticket"] for ack in acks]
    assert len(tickets) == len(set(tickets)), "a number was issued twice"
    d = Dispatcher.open(load_center(CONFIG), journal)
    try:
        assert sorted(d.state.tickets) == sorted(tickets), "the journal and the acks disagree"
        for service in "AB":
            numbers = sorted(t.number for t in d.state.tickets.values() if t.service == service)
            assert numbers == list(range(1, len(numbers) + 1)), f"a gap or a repeat in {service}"
    finally:
        d.close()


def test_kill_9_of_the_gateway_during_presses_loses_none_and_repeats_none(broker, kiosk_with_outbox, tmp_path):
    journal, log = tmp_path / "journal.db", tmp_path / "gateway.log"
    kiosks = [kiosk_with_outbox("kiosk-1"), kiosk_with_outbox("kiosk-2")]
    rng = random.Random(7)
    gateway = start_gateway(broker, journal, log)
    try:
        presses = 0
        for _round in range(4):
            deadline = time.monotonic() + rng.uniform(0.5, 1.5)
            while time.monotonic() < deadline:
                kiosks[presses % 2].press(button=rng.randrange(2))
                presses += 1
                time.sleep(0.01)
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.wait()
            for _ in range(5):  # presses while the gateway is down
                kiosks[presses % 2].press(button=0)
                presses += 1
            gateway = start_gateway(broker, journal, log)
        for k in kiosks:
            k.wait_all_acked(timeout=30)
        assert sum(len(k.acked) for k in kiosks) == presses
        print(f"{presses} presses through 4 kill -9 of the gateway")
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=10)
    check_one_ticket_per_press(kiosks, journal)


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_a_broker_restart_during_presses_loses_none(broker, kiosk_with_outbox, tmp_path, how):
    journal, log = tmp_path / "journal.db", tmp_path / "gateway.log"
    gateway = start_gateway(broker, journal, log)
    kiosk = kiosk_with_outbox("kiosk-1")
    try:
        for _ in range(20):
            kiosk.press()
        broker.stop(kill=how == "kill")
        for _ in range(10):
            kiosk.press(button=1)  # the broker is away
        broker.start()
        for _ in range(10):
            kiosk.press()
        kiosk.wait_all_acked(timeout=30)
        assert len(kiosk.acked) == 40
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=10)
    check_one_ticket_per_press([kiosk], journal)
