"""Mosquitto on free ports of this machine, with the accounts, ACL, TLS and limits the gateway
writes (`broker-auth`), run as its systemd drop-in runs it (the same file limit)."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway.broker_auth import MOSQUITTO_NOFILE, write_broker_files
from gateway.config import CenterConfig

# The test rig's own account (the demo's and the tests' observer): it reads and writes the
# center's branch like the gateway, but under its own name, so it never takes the gateway's session.
RIG_USER = "rig"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """`port` is the plain listener on 127.0.0.1 (the gateway, the tools, paho test clients);
    `tls_port` the boards' TLS listener on `bind`, its certificate for `hosts`. Without
    `rig_account` the files are exactly what `broker-auth` writes for a center."""

    def __init__(
        self,
        config: CenterConfig,
        folder: Path,
        port: int | None = None,
        bind: str = "127.0.0.1",
        hosts: list[str] | None = None,
        tls_port: int | None = None,
        nofile: int = MOSQUITTO_NOFILE,
        rig_account: bool = True,
    ):
        self.port, self.tls_port = port or free_port(), tls_port or free_port()
        self.files = write_broker_files(
            config,
            folder,
            port=self.tls_port,
            local_port=self.port,
            bind=bind,
            hosts=hosts or ["127.0.0.1"],
            user="root" if os.geteuid() == 0 else None,
            extra={RIG_USER: "readwrite"} if rig_account else {},
        )
        self.nofile = nofile
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(self.files.conf)], stdout=log, stderr=log)
        # What systemd's LimitNOFILE gives it on the Pi (gateway/install.py), within what this user may.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = self.nofile if os.geteuid() == 0 or hard == resource.RLIM_INFINITY else min(self.nofile, hard)
        resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (limit, limit))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text()}")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=10)

    def password(self, user: str) -> str:
        return self.files.passwords[user]
