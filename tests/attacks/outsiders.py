"""What an outsider on the center's Wi-Fi uses against it, none of it the project's own code:
Debian's mosquitto_pub / mosquitto_sub (mosquitto-clients), openssl, raw sockets; and a
recording TCP relay, the wire a sniffer would see."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading

from rig.center import Center, lan_address
from tech.listener import close_listener

# The client ids an attacker would try: the gateway's (the old predictable one and its account
# name) and each technician's tool's.
STOLEN_IDS = ("hangcho-gateway-test", "gateway", "tech-provision", "tech-identify", "tech-reboot", "tech-update")


def lan_host() -> str:
    """Where the attacker reaches the center: its LAN address, or 127.0.0.1 on a machine without one."""
    return lan_address() or "127.0.0.1"


def tls_args(center: Center, account: str, client_id: str, host: str | None = None, port: int | None = None):
    return [
        "-h", host or lan_host(), "-p", str(port or center.broker.tls_port), "--cafile", str(center.ca),
        "-u", account, "-P", center.password(account), "-i", client_id, "-q", "1",
    ]  # fmt: skip


def mosquitto(tool: str) -> str:
    found = shutil.which(tool)
    assert found, f"{tool} is missing: make test installs mosquitto-clients (system-packages.txt)"
    return found


def hold_session(center: Center, account: str, client_id: str) -> subprocess.Popen:
    """mosquitto_sub with a persistent session, reconnecting whenever it is thrown out."""
    topic = f"hangcho/v1/{center.config.id}/{account}/cmd/#"
    args = [mosquitto("mosquitto_sub"), *tls_args(center, account, client_id), "-c", "-t", topic]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def publish_once(center: Center, account: str, client_id: str, topic: str, message: str, **where) -> int:
    args = [mosquitto("mosquitto_pub"), *tls_args(center, account, client_id, **where), "-t", topic, "-m", message]
    return subprocess.run(args, capture_output=True, timeout=30).returncode


class Relay:
    """A TCP relay on 127.0.0.1 that forwards to `target` and keeps every byte the client sent:
    what anyone on the path between a board and the broker can read."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.sent = bytearray()
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    with self.lock:
                        self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def seen(self) -> bytes:
        with self.lock:
            return bytes(self.sent)

    def close(self) -> None:
        close_listener(self.server, self._accepting)
