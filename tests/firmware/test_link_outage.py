"""A board on real MicroPython pressing through a broker restart: every press one ticket."""

from __future__ import annotations

import json
import time

SCRIPT = """
import asyncio, json
from mqtt import MQTTClient
from outbox import Outbox, next_boot
from link import Link
from trust import context

async def main():
    c = MQTTClient("kiosk-1", "127.0.0.1", {port}, user="kiosk-1", password="{password}", keepalive=4,
                   ssl=context("ca.crt"))
    box = Outbox("outbox.log", "kiosk-1", next_boot("boot.count"))
    link = Link(c, box, "test", "kiosk-1")
    tickets = {{}}
    link.on_ack = lambda body: tickets.__setitem__(body["id"], body.get("ticket"))
    asyncio.create_task(link.run())
    for n in range({presses}):
        print("pressed", link.press('{{"kind":"press","button":0}}'))
        await asyncio.sleep(0.1)
    for _ in range(600):
        if not box.pending:
            break
        await asyncio.sleep(0.1)
    print("result", json.dumps({{"pending": len(box.pending), "tickets": tickets}}))

asyncio.run(main())
"""


def test_presses_through_a_broker_restart_each_become_one_ticket(gateway, broker, micropython_process, board_ca):
    presses = 30
    proc = micropython_process(SCRIPT.format(port=broker.tls_port, password=broker.password("kiosk-1"),
                                             presses=presses))  # fmt: skip
    pressed = 0
    while pressed < 8:
        line = proc.stdout.readline()
        assert line, "the board stopped"
        pressed += line.startswith("pressed")
    broker.stop(kill=True)  # the broker dies without saving its store
    time.sleep(1.0)
    broker.start()
    out, _ = proc.communicate(timeout=90)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("result")).split(" ", 1)[1])
    assert result["pending"] == 0, out
    tickets = result["tickets"]
    assert len(tickets) == presses, out
    assert len(set(tickets.values())) == presses  # no number twice
    assert sorted(gateway.dispatcher.state.tickets) == sorted(tickets.values())
