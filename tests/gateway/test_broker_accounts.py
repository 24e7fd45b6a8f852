"""The broker's accounts on a real Mosquitto: every session is named after its account, the
gateway's persistent session survives its restarts, and each technician's tool has its own
account with only what it does; two runs of the same tool never take the session back and forth."""

from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.broker_auth import TECH_ACCOUNTS, on_this_machine
from gateway.dispatcher import Dispatcher
from gateway.service import GatewayService, MqttSettings
from tech.watch import SessionLost, check_session, tech_client


def wait_for(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def tool(broker, account: str):
    return tech_client(account, ("127.0.0.1", broker.port), broker.files.secrets.parent)


def test_the_gateways_session_is_its_accounts_and_outlives_a_restart(center, broker, boards, tmp_path):
    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    settings = MqttSettings(port=broker.port, password=broker.password("gateway"))
    first = GatewayService(center, dispatcher, settings)
    first.start()
    assert first.connected.wait(10)
    first.stop()  # the session (its subscriptions, QoS 1) stays in the broker
    kiosk = boards("kiosk-1")
    event_id = kiosk.press()  # once, no resend: only the persistent session can bring it over
    second = GatewayService(center, dispatcher, settings)
    second.start()
    try:
        assert kiosk.ack_for(event_id, timeout=10)["ticket"] == "A001"
    finally:
        second.stop()
        dispatcher.close()
    log = broker.log.read_text()
    assert log.count(" as gateway (p2, c0,") == 2 and "hangcho-gateway-" not in log


@pytest.mark.parametrize(
    ("account", "allowed", "refused"),
    [
        ("tech-identify", ["cmd/identify", "cmd/config", "cmd/print"], ["cmd/reboot", "cmd/update", "ack", "display"]),
        ("tech-reboot", ["cmd/reboot"], ["cmd/update", "cmd/print", "ack"]),
        ("tech-update", ["cmd/update"], ["cmd/reboot", "cmd/config", "display"]),
        ("tech-provision", [], ["cmd/identify", "cmd/reboot", "ack"]),
    ],
)
def test_each_technicians_tool_may_send_only_its_own_commands(broker, boards, account, allowed, refused):
    kiosk = boards("kiosk-1")
    client, rig = tool(broker, account), rig_client(broker)
    try:
        for leaf in refused + allowed:
            body = json.dumps({"exp": time.time() + 60, "probe": leaf})
            client.publish(kiosk.topic(leaf), body, qos=1).wait_for_publish(5)
        end = json.dumps({"exp": time.time() + 60, "probe": "end"})
        rig.publish(kiosk.topic("cmd/identify"), end, qos=1).wait_for_publish(5)
        kiosk.wait_for("cmd/identify", lambda b: b.get("probe") == "end")  # everything before it has arrived
    finally:
        for c in (client, rig):
            c.disconnect()
            c.loop_stop()
    got = {body["probe"] for leaf, body in kiosk.messages if isinstance(body, dict) and "probe" in body}
    assert got == {*allowed, "end"}, got


def rig_client(broker):
    """The test rig's own account (rig/broker.py): writes anywhere in the center's branch."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rig")
    c.username_pw_set("rig", broker.password("rig"))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def test_each_tool_reads_only_what_it_waits_on(broker, boards):
    leaves = ("status", "info", "tele", "evt", "ack", "display", "cmd/update")
    reads = {account: set(reads) for account, (reads, _) in TECH_ACCOUNTS.items()}
    heard: dict[str, set[str]] = {account: set() for account in TECH_ACCOUNTS}
    clients = []
    for account in TECH_ACCOUNTS:
        c = tool(broker, account)
        c.on_message = lambda cl, u, msg, a=account: heard[a].add(msg.topic.split("/", 4)[4])
        for leaf in leaves:  # each on its own: the broker refuses those the account may not read
            c.subscribe(f"hangcho/v1/test/+/{leaf}", qos=1)
        clients.append(c)
    time.sleep(0.5)  # subscribed
    kiosk, rig = boards("kiosk-1"), rig_client(broker)
    for leaf in ("status", "info", "tele", "evt"):
        kiosk.publish(leaf, json.dumps({"id": "kiosk-1:1:1"}))
    for leaf in ("ack", "display", "cmd/update"):
        rig.publish(kiosk.topic(leaf), "{}", qos=1).wait_for_publish(5)
    try:
        wait_for(lambda: all(heard[a] >= reads[a] for a in reads))
        time.sleep(0.3)
    finally:
        for c in (*clients, rig):
            c.disconnect()
            c.loop_stop()
    assert heard == reads


def test_the_same_tool_twice_the_first_stops_and_the_second_keeps_the_session(broker):
    first = tool(broker, "tech-update")
    other = tool(broker, "tech-identify")  # another tool, its own account: untouched
    second = tool(broker, "tech-update")
    try:
        wait_for(lambda: first.user_data_get()["lost"] is not None)
        with pytest.raises(SessionLost, match="takes it over"):
            check_session(first)
        time.sleep(3)  # long enough for a reconnecting first run to have taken it back
        check_session(second)
        check_session(other)
    finally:
        for c in (first, second, other):
            c.disconnect()
            c.loop_stop()
    assert broker.log.read_text().count(" as tech-update (") == 2  # no back and forth


def test_plain_mqtt_only_to_this_machine():
    assert on_this_machine("127.0.0.1") and on_this_machine("localhost") and on_this_machine("::1")
    assert not on_this_machine("192.168.1.2") and not on_this_machine("gateway.local")
