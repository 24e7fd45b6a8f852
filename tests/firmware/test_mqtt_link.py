"""The firmware's MQTT client and outbox on real MicroPython, against a real Mosquitto and gateway."""

from __future__ import annotations

LINK = """
import asyncio, json
from mqtt import MQTTClient
from outbox import Outbox, next_boot
from trust import context

PREFIX = "hangcho/v1/test/{device}/"
got = []

async def main():
    c = MQTTClient("{device}", "127.0.0.1", {port}, user="{device}", password="{password}", keepalive=10,
                   ssl=context("ca.crt"))
    c.set_last_will(PREFIX + "status", b"lost")
    c.on_message = lambda topic, payload: got.append((topic.split("/", 4)[4], json.loads(payload)))
    await c.connect(clean=True)
    assert await c.subscribe(PREFIX + "ack")
    assert await c.subscribe(PREFIX + "cmd/#")
    assert await c.publish(PREFIX + "status", b"online", retain=True)
    box = Outbox("outbox.log", "{device}", next_boot("boot.count"))
{body}
    await c.disconnect()

asyncio.run(main())
"""


def link_script(broker, device: str, body: str) -> str:
    return LINK.format(device=device, port=broker.tls_port, password=broker.password(device), body=body)


def test_a_press_from_micropython_becomes_a_ticket_and_a_print(gateway, broker, micropython, board_ca):
    body = """
    event = box.add('{"kind":"press","button":1}')
    assert await c.publish(PREFIX + "evt", box.pending[event])
    for _ in range(100):
        acks = [b for leaf, b in got if leaf == "ack" and b["id"] == event]
        if acks:
            break
        await asyncio.sleep(0.05)
    box.ack(event)
    prints = [b for leaf, b in got if leaf == "cmd/print"]
    print(json.dumps({"ack": acks[0], "print": prints[0]["ticket"], "pending": len(box.pending)}))
"""
    result = micropython(link_script(broker, "kiosk-1", body))
    import json

    answer = json.loads(result.strip().splitlines()[-1])
    assert answer["ack"]["ok"] is True and answer["ack"]["ticket"] == "B001"
    assert answer["print"] == "B001"  # the print arrived before the ack
    assert answer["pending"] == 0
    assert list(gateway.dispatcher.state.tickets) == ["B001"]
    assert gateway.registry.entries["kiosk-1"].status == "online"


def test_a_board_cannot_spoof_another_boards_events(gateway, broker, micropython, boards, board_ca):
    body = """
    ok = await c.publish("hangcho/v1/test/kiosk-2/evt", b'{"id":"kiosk-2:1:1","kind":"press","button":0}')
    print("sent", ok)
"""
    out = micropython(link_script(broker, "kiosk-1", body))
    assert "sent" in out  # MQTT 3.1.1 cannot tell the sender; the broker drops it
    kiosk2 = boards("kiosk-2")
    assert kiosk2.ack_for(kiosk2.press())["ticket"] == "A001"
    assert list(gateway.dispatcher.state.tickets) == ["A001"]
