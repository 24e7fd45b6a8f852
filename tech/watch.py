"""The boards as the broker tells of them: their retained `info` and `display`, kept current for
a technician's command that waits on a board (update, reboot)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import tomllib
from pathlib import Path

from contracts.ids import GATEWAY
from contracts.topics import topic
from gateway.config import CenterConfig


def gateway_client(broker: tuple[str, int], broker_dir: Path, on_message=None):
    """A paho client with the gateway's account (its password from the broker files), connected
    and looping. OSError when the broker cannot be reached."""
    import paho.mqtt.client as mqtt

    password = tomllib.loads((broker_dir / "secrets.toml").read_text())["passwords"][GATEWAY]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hangcho-tech-{secrets.token_hex(3)}")
    client.username_pw_set(GATEWAY, password)
    client.on_message = on_message
    client.connect(*broker)
    client.loop_start()
    return client


class BoardWatch:
    """The retained info and display of every board, kept up to date from the broker."""

    def __init__(self, center: CenterConfig, broker: tuple[str, int], broker_dir: Path):
        self.info: dict[str, dict] = {}
        self.display: dict[str, dict] = {}
        self.roles = {d.id: d.role for d in center.devices}
        self.infos: dict[str, int] = {}  # info messages heard per board: one more after each start
        self.changed = threading.Condition()
        self.client = gateway_client(broker, broker_dir, self._message)
        for leaf in ("info", "display"):
            self.client.subscribe(topic(center.id, "+", leaf), qos=1)

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
