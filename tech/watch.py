"""The boards as the broker tells of them: their retained `info` and `display`, kept current for
a technician's command that waits on a board (update, reboot); and the broker client each of
the technician's tools connects with, under its own account (gateway/broker_auth.py)."""

from __future__ import annotations

import json
import threading
import time
import tomllib
from pathlib import Path

from contracts.topics import topic
from gateway.broker_auth import TECH_ACCOUNTS, on_this_machine
from gateway.config import CenterConfig


class SessionLost(ConnectionError):
    """The broker ended the tool's session: another run of the same tool took it over."""


def tech_client(account: str, broker: tuple[str, int], broker_dir: Path, on_message=None, on_lost=None):
    """A paho client logged in as one of the tools' accounts (`tech-update`, …; its password from
    the broker files), connected and looping; OSError when the broker cannot be reached. Plain
    MQTT to the broker's listener on this machine, TLS verified with the center's CA to any other
    address. The broker makes the client id the account, so a second run of the same tool takes
    the session over; the first one then stops (`check_session`, `on_lost()`) instead of
    reconnecting and taking it back, which would throw the two out in turn. (MQTT 5: a broker
    that says why, "Session taken over", has it in the message; Mosquitto 2.0.11 just closes.)"""
    import paho.mqtt.client as mqtt

    assert account in TECH_ACCOUNTS, account
    password = tomllib.loads((broker_dir / "secrets.toml").read_text())["passwords"][account]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=account, protocol=mqtt.MQTTv5,
                         userdata={"lost": None}, reconnect_on_failure=False)  # fmt: skip
    client.username_pw_set(account, password)
    if not on_this_machine(broker[0]):
        client.tls_set(ca_certs=str(broker_dir / "ca.crt"))

    def disconnected(client, userdata, flags, reason_code, properties) -> None:
        if reason_code.value == 0:
            return  # the tool's own disconnect()
        userdata["lost"] = str(reason_code)
        if on_lost:
            on_lost()

    client.on_disconnect = disconnected
    client.on_message = on_message
    client.connect(*broker)
    client.loop_start()
    return client


def check_session(client) -> None:
    """SessionLost once the broker has ended the tool's session."""
    lost = client.user_data_get()["lost"]
    if lost is not None:
        raise SessionLost(f"the broker ended this tool's session ({lost}): the same hangcho-tech command started in "
                          f"another terminal takes it over (run one at a time), or the broker went away")  # fmt: skip


class BoardWatch:
    """The retained info and display of every board, kept up to date from the broker."""

    def __init__(self, center: CenterConfig, account: str, broker: tuple[str, int], broker_dir: Path):
        self.info: dict[str, dict] = {}
        self.display: dict[str, dict] = {}
        self.roles = {d.id: d.role for d in center.devices}
        self.infos: dict[str, int] = {}  # info messages heard per board: one more after each start
        self.changed = threading.Condition()
        self.client = tech_client(account, broker, broker_dir, self._message, self._lost)
        for leaf in ("info", "display"):
            self.client.subscribe(topic(center.id, "+", leaf), qos=1)

    def _lost(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _message(self, client, userdata, message) -> None:
        parts = message.topic.split("/")
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        with self.changed:
            (self.info if parts[-1] == "info" else self.display)[parts[-2]] = body
            if parts[-1] == "info":
                self.infos[parts[-2]] = self.infos.get(parts[-2], 0) + 1
            self.changed.notify_all()

    def wait(self, check, timeout: float):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (found := check()):
                check_session(self.client)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return found

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def busy(boards: BoardWatch, device: str) -> bool:
    """Someone is being served at this counter: its display shows a ticket. The gateway keeps a
    retained display for every counter, but it may reach us after the board's info: give it a
    moment (without a gateway there is none, and nobody is being served)."""
    if boards.roles.get(device) != "counter":
        return False
    boards.wait(lambda: device in boards.display or None, 3)
    return bool(boards.display.get(device, {}).get("text"))
