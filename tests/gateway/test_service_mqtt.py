"""The gateway over a real Mosquitto with the accounts and ACL it writes: boards are paho clients."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway import protocol
from gateway.journal import JournalError
from gateway.ticket import blocks_rev, static_blocks
from rig.broker import RIG_USER


def test_a_press_becomes_one_ticket_one_ack_and_one_print(gateway, boards):
    kiosk = boards("kiosk-1")
    event_id = kiosk.press(button=1)
    ack = kiosk.ack_for(event_id)
    assert ack == {"id": event_id, "ok": True, "ticket": "B001"}
    printed = kiosk.wait_for("cmd/print")
    assert printed["ticket"] == "B001" and printed["rev"] == blocks_rev(gateway.config, "58mm")
    ops = printed["ops"]
    assert ["big", "B001", 8] in ops and ["img", "svc:B", "Ho tich"] in ops  # 58 mm: 8 × still fits
    assert ["img", "lbl:unknown", "Chua xac dinh"] in ops  # no counter is open yet: the wait is unknown
    assert not any(op[1].startswith("pri:") for op in ops if op[0] == "img")
    assert (
        isinstance(printed["exp"], int) and printed["exp"] > time.time()
    )  # whole seconds: a board's floats are 32-bit
    assert list(gateway.dispatcher.state.tickets) == ["B001"]
    assert gateway.dispatcher.journal.find(event_id)[-1].ticket == "B001"


def test_a_board_coming_online_gets_the_gateways_time_at_once(gateway, boards):
    """An ESP32 knows no time at power-up; it judges commands by this (firmware/app/clock.py).
    The periodic one comes every 10 s; the one for a board coming online within the test's 3 s."""
    kiosk = boards("kiosk-1")
    kiosk.client.subscribe(protocol.gateway_time("test"), qos=0)  # the board's own ACL allows it
    kiosk.ack_for(kiosk.press())  # subscribed by now, and the periodic time of the start is past
    kiosk.messages.clear()
    asked = time.time()
    kiosk.publish("status", "online")
    got = kiosk.wait_for("time", timeout=3)
    assert set(got) == {"ms"} and isinstance(got["ms"], int)
    assert asked - 1 <= got["ms"] / 1000 <= time.time() + 1


def test_a_priority_press_prints_the_class(gateway, boards):
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0, priority=True))
    assert ["img", "pri:cao_tuoi", "UU TIEN - Nguoi cao tuoi"] in kiosk.wait_for("cmd/print")["ops"]


def test_the_same_event_id_twice_makes_one_ticket_and_one_print(gateway, boards):
    kiosk = boards("kiosk-1")
    first = kiosk.press(button=0, seq=7)
    assert kiosk.ack_for(first)["ticket"] == "A001"
    again = kiosk.press(button=0, seq=7)
    assert again == first
    kiosk.wait_for("ack", lambda b: len(kiosk.all("ack")) >= 2)
    assert [a["ticket"] for a in kiosk.all("ack")] == ["A001", "A001"]
    kiosk.ack_for(kiosk.press(button=0))  # a sentinel: everything before it was handled
    assert len(kiosk.all("cmd/print")) == 2  # A001 once, then A002 for the sentinel
    assert sorted(gateway.dispatcher.state.tickets) == ["A001", "A002"]


def test_a_board_cannot_publish_on_another_boards_topics(gateway, boards):
    intruder = boards("kiosk-1")
    victim = boards("kiosk-2")
    spoof = json.dumps({"id": "kiosk-2:1:1", "kind": "press", "button": 0})
    intruder.publish("evt", spoof, device="kiosk-2")  # the broker's ACL drops it
    intruder.publish("ack", json.dumps({"id": "kiosk-2:1:5", "ok": True}), device="kiosk-2")
    assert victim.ack_for(victim.press(button=0))["ticket"] == "A001"  # the spoofed press made nothing
    assert victim.all("ack") == [{"id": "kiosk-2:1:1", "ok": True, "ticket": "A001"}]
    assert list(gateway.dispatcher.state.tickets) == ["A001"]


def test_a_board_cannot_read_another_boards_acks(gateway, boards):
    snoop = boards("kiosk-2")
    snoop.client.subscribe(snoop.topic("ack", "kiosk-1"), qos=1)
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press())
    snoop.ack_for(snoop.press())
    assert all(a["id"].startswith("kiosk-2:") for a in snoop.all("ack"))


def test_anonymous_and_wrong_passwords_are_refused(broker):
    for user, password in ((None, None), ("kiosk-1", "wrong")):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if user:
            client.username_pw_set(user, password)
        codes = []
        client.on_connect = lambda c, u, f, rc, p, codes=codes: codes.append(rc)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        deadline = time.monotonic() + 5
        while not codes and time.monotonic() < deadline:
            time.sleep(0.02)
        client.loop_stop()
        assert codes and codes[0].is_failure, (user, codes)


@pytest.mark.parametrize(
    ("payload", "reason", "acked"),
    [
        (b"{not json", "not UTF-8 JSON", False),
        (b"\xff\xfe", "not UTF-8 JSON", False),
        (b"[1, 2]", "not a JSON object", False),
        (json.dumps({"id": "kiosk-1:1:9", "kind": "press", "button": 9}).encode(), "button 9", True),
        (json.dumps({"id": "kiosk-1:1:9", "kind": "press", "button": "0"}).encode(), "'button'", True),
        (json.dumps({"id": "kiosk-1:1:9", "kind": "key", "action": "next"}).encode(), "'kind'", True),
        (json.dumps({"id": "kiosk-2:1:9", "kind": "press", "button": 0}).encode(), "event id must be", False),
        (json.dumps({"id": "kiosk-1:1:9", "kind": "press", "button": 0, "pad": "x" * 3000}).encode(), "exceeds", False),
    ],
)
def test_malformed_and_oversized_events_are_refused_with_a_reason(gateway, boards, caplog, payload, reason, acked):
    caplog.set_level(logging.WARNING, logger="hangcho.gateway")
    kiosk = boards("kiosk-1")
    kiosk.publish("evt", payload)
    kiosk.ack_for(kiosk.press(seq=100))  # a sentinel: the bad message was handled before it
    assert any(reason in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    refusals = [a for a in kiosk.all("ack") if not a["ok"]]
    assert bool(refusals) == acked
    if acked:
        assert refusals[0] == {
            "id": "kiosk-1:1:9",
            "ok": False,
            "error": "malformed",
            "message": refusals[0]["message"],
        }
    assert list(gateway.dispatcher.state.tickets) == ["A001"]  # only the sentinel


def test_an_unknown_device_is_refused_and_logged(gateway, boards, caplog):
    caplog.set_level(logging.WARNING, logger="hangcho.gateway")
    ghost = boards("ghost", user=RIG_USER)  # only the gateway's (and the test rig's) account can reach that topic
    ghost.publish("evt", json.dumps({"id": "ghost:1:1", "kind": "press", "button": 0}).encode())
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press())
    assert any("unknown device 'ghost'" in r.getMessage() for r in caplog.records)
    assert list(gateway.dispatcher.state.tickets) == ["A001"]


def test_a_refused_command_is_acknowledged_with_the_reason(gateway, boards):
    counter = boards("counter-1")
    ack = counter.ack_for(counter.key("next"))  # the counter is still closed
    assert ack["ok"] is False and ack["error"] == "illegal_transition"
    assert "mở quầy" in ack["message"]


def test_next_shows_the_number_on_the_counter_and_the_hall(gateway, boards):
    kiosk, counter, hall = boards("kiosk-1"), boards("counter-1"), boards("hall-1")
    kiosk.ack_for(kiosk.press(button=0))
    counter.ack_for(counter.key("open"))
    assert counter.ack_for(counter.key("next"))["ticket"] == "A001"
    assert counter.wait_for("display", lambda b: b["text"] == "A001")["status"] == "open"
    assert hall.wait_for("display", lambda b: b["calls"])["calls"] == [{"ticket": "A001", "counter": 1}]
    counter.ack_for(counter.key("start"))
    counter.ack_for(counter.key("complete", outcome="forwarded", forwarded_to="Sở Tư pháp"))
    counter.wait_for("display", lambda b: b["text"] == "")
    t = gateway.dispatcher.state.tickets["A001"]
    assert (t.state, t.outcome, t.forwarded_to) == ("done", "forwarded", "Sở Tư pháp")


def test_board_health_is_recorded(gateway, boards):
    kiosk = boards("kiosk-1")
    kiosk.publish("status", "online")
    kiosk.publish("info", json.dumps({"role": "kiosk", "app": "0.1.0", "board": "esp32-devkitc"}))
    kiosk.publish("tele", json.dumps({"uptime_s": 12, "rssi": -61, "paper": "ok"}), qos=1)
    kiosk.ack_for(kiosk.press())
    entry = gateway.registry.entries["kiosk-1"]
    assert (entry.status, entry.info["board"], entry.tele["rssi"]) == ("online", "esp32-devkitc", -61)


def test_boards_see_whether_the_gateway_is_there(gateway, boards):
    kiosk = boards("kiosk-1")
    kiosk.client.subscribe(kiosk.topic("status", "gateway"), qos=1)
    kiosk.wait_for("status", lambda body: body == b"online")


def test_a_call_is_announced(center, broker, boards, tmp_path):
    from gateway.dispatcher import Dispatcher
    from gateway.service import GatewayService, MqttSettings
    from gateway.voice import Announcer, folder_sink

    announcer = Announcer(folder_sink(tmp_path / "audio", realtime=False))
    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    service = GatewayService(
        center, dispatcher, MqttSettings(port=broker.port, password=broker.password("gateway")), announcer=announcer
    )
    service.start()
    try:
        assert service.connected.wait(10)
        kiosk, counter = boards("kiosk-1"), boards("counter-2")
        kiosk.ack_for(kiosk.press(button=1))
        counter.ack_for(counter.key("open"))
        counter.ack_for(counter.key("next"))
        counter.ack_for(counter.key("recall"))
        announcer.drain()
        assert [p.name for p in sorted((tmp_path / "audio").glob("*.wav"))] == ["0001-B001-2.wav", "0002-B001-2.wav"]
    finally:
        service.stop()
        announcer.close()
        dispatcher.close()


def test_a_kiosk_with_stale_blocks_gets_every_block(gateway, boards):
    kiosk = boards("kiosk-1")
    kiosk.publish("info", json.dumps({"role": "kiosk", "blocks_rev": "old"}))
    done = kiosk.wait_for("cmd/config", lambda b: b["kind"] == "blocks_done")
    blocks = static_blocks(gateway.config, "58mm")
    got: dict[str, bytes] = {}
    for part in kiosk.all("cmd/config")[:-1]:
        assert part["kind"] == "block" and part["w"] == 384 and part["h"] == blocks[part["name"]].height
        got[part["name"]] = got.get(part["name"], b"") + base64.b64decode(part["data"])
    assert got == {name: raster.data for name, raster in blocks.items()}
    assert done["rev"] == blocks_rev(gateway.config, "58mm")
    kiosk.messages.clear()
    kiosk.publish("info", json.dumps({"role": "kiosk", "blocks_rev": done["rev"]}))
    kiosk.ack_for(kiosk.press())  # a sentinel
    assert kiosk.all("cmd/config") == []  # an up-to-date kiosk gets nothing again


def test_a_full_journal_acks_nothing_logs_once_and_recovers(gateway, boards, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="hangcho.gateway")
    kiosk = boards("kiosk-1")

    def full(batches):
        raise JournalError("cannot write", disk_full=True) from sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(gateway.dispatcher.journal, "append", full)
    press = (
        protocol.topic("test", "kiosk-1", "evt"),
        json.dumps({"id": "kiosk-1:1:5", "kind": "press", "button": 0}).encode(),
    )
    for _ in range(3):  # the press and two resends, on the full disk
        gateway.handle_group([press])
    monkeypatch.undo()  # space is back
    gateway.handle_group([press])
    assert kiosk.ack_for("kiosk-1:1:5")["ticket"] == "A001"
    kiosk.ack_for(kiosk.press(seq=6))  # a sentinel: any ack of the failed tries would have come before it
    assert [a["id"] for a in kiosk.all("ack")] == ["kiosk-1:1:5", "kiosk-1:1:6"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("journal: ")]
    path = gateway.dispatcher.journal.path
    assert len(lines) == 2 and lines[0].startswith(f"journal: disk full at {path} (database or disk is full, ")
    assert lines[0].endswith("waiting for space") and lines[1].startswith(f"journal: writing again at {path} after")
