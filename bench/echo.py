"""The floor under press-to-print: a paho client in its own process (as the gateway is) that
answers each kiosk `evt` with a `cmd/echo` at once, through the same broker, with the same QoS.
Run by bench/system.py: python -m bench.echo HOST PORT CENTER DEVICE ACCOUNT PASSWORD (the test
rig's account: the gateway's own would be the gateway's session)."""

from __future__ import annotations

import sys

import paho.mqtt.client as mqtt

from contracts.topics import topic
from gateway.service import no_delay


def main(host: str, port: str, center: str, device: str, account: str, password: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=account)
    client.username_pw_set(account, password)
    answer = topic(center, device, "cmd/echo")
    client.on_connect = lambda c, *a: c.subscribe(topic(center, device, "evt"), qos=1)
    client.on_message = lambda c, u, msg: c.publish(answer, msg.payload, qos=1)
    client.on_socket_open = no_delay
    client.connect(host, int(port))
    client.loop_forever()


if __name__ == "__main__":
    main(*sys.argv[1:7])
