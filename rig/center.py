"""A whole center running as docs/protocol.md sets it up, for the attacks (tests/attacks/):
Mosquitto on exactly the files `broker-auth` writes (TLS on every address of this machine,
plain MQTT on 127.0.0.1), with the file limit of its systemd drop-in, and `hangcho-gateway run`
as a process on the local listener. What an outsider on the center's Wi-Fi sees is its TLS port."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from gateway.broker_auth import machine_addresses
from gateway.config import load_center

from .broker import Broker, free_port
from .gateway import start_gateway

SMALL_CENTER = Path(__file__).resolve().parent.parent / "tests" / "data" / "small_center.toml"


def lan_address() -> str | None:
    """An IPv4 address of this machine that is not loopback: where boards on the LAN would
    reach it. None on a machine with only a loopback interface."""
    found = [a for a in machine_addresses() if a.count(".") == 3 and not a.startswith("127.")]
    return found[0] if found else None


class Center:
    def __init__(self, folder: Path, config_file: Path = SMALL_CENTER, nofile: int | None = None):
        self.folder, self.config_file = folder, config_file
        self.config = load_center(config_file)
        hosts = ["127.0.0.1", *([lan_address()] if lan_address() else [])]
        extra = {"nofile": nofile} if nofile else {}
        self.broker = Broker(self.config, folder / "broker", bind="", hosts=hosts, rig_account=False, **extra)
        self.http_port = free_port()
        self.journal, self.log = folder / "journal.db", folder / "gateway.log"
        self.gateway = None
        self.start_gateway()

    @property
    def ca(self) -> Path:
        return self.broker.files.ca

    def password(self, account: str) -> str:
        return self.broker.password(account)

    def start_gateway(self) -> None:
        seen = self.connections()
        self.gateway = start_gateway(self.config_file, self.broker.port, self.broker.files.secrets, self.journal,
                                     self.log, f"127.0.0.1:{self.http_port}")  # fmt: skip
        self.wait_connected(seen + 1)

    def gateway_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connections(self) -> int:
        """How many times the gateway has connected to the broker (its log says so each time)."""
        return self.gateway_log().count(" connected to 127.0.0.1:")

    def disconnections(self) -> int:
        return self.gateway_log().count("disconnected from the broker")

    def wait_connected(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.connections() < count:
            assert self.gateway.poll() is None, self.gateway_log()
            assert time.monotonic() < deadline, f"the gateway did not connect: {self.gateway_log()[-2000:]}"
            time.sleep(0.05)

    def broker_log(self) -> str:
        return self.broker.log.read_text(errors="replace")

    def journaled(self, kind: str) -> list[tuple[str, dict]]:
        """(key, event body) of every journaled event of a kind, read beside the running gateway."""
        import json

        if not self.journal.exists():
            return []
        with sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT key, data FROM events WHERE type = ? ORDER BY seq", (kind,)).fetchall()
        return [(key, json.loads(body)) for key, body in rows]

    def stop(self) -> None:
        if self.gateway and self.gateway.poll() is None:
            self.gateway.terminate()
            self.gateway.wait(timeout=10)
        self.broker.stop()
