"""Idle sockets: 1,100 TCP connections (3,000 with HANGCHO_FAULTS=full) to the boards' TLS
listener that never log in. Mosquitto keeps such a socket until its default keepalive runs out
(about 90 s, "Client <unknown> has exceeded timeout"), and an attacker simply opens it again, so
what protects the center is capacity: the TLS listener takes 4,096, Mosquitto may open 8,192
files (its systemd drop-in's LimitNOFILE, which rig/broker.py gives it here too), and the gateway
has a listener of its own on 127.0.0.1. A legitimate board still comes online and is answered,
and the gateway reconnects to a restarted broker while the attacker fills the LAN listener again.

The same attack against Debian's default file limit for a service (1,024) locks the board out:
the attack is real, and the limits are what stop it."""

from __future__ import annotations

import os
import resource
import socket
import time
from pathlib import Path

from faults.checker import rounds
from gateway.broker_auth import MOSQUITTO_NOFILE
from gateway.ticket import printed_numbers
from rig.center import Center
from tech.hostboard import HostBoard
from tests.attacks.outsiders import lan_host

IDLE = rounds(full=3000, quick=1100)  # HANGCHO_FAULTS=full: nearer the LAN listener's 4,096
CONTROL = 1100
DEBIAN_DEFAULT_NOFILE = 1024


def wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def idle_sockets(port: int, n: int = IDLE) -> list[socket.socket]:
    """n connections that never send a byte; each one a file of this process too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 512
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want) if os.geteuid() == 0 else hard))
    out = []
    for _ in range(n):
        try:
            out.append(socket.create_connection((lan_host(), port), timeout=5))
        except OSError:
            break  # the broker stopped accepting: what the board meets next
    return out


def close_all(sockets: list[socket.socket]) -> None:
    for s in sockets:
        s.close()


def broker_files(center: Center) -> int:
    return len(os.listdir(f"/proc/{center.broker.proc.pid}/fd"))


def printed(kiosk: HostBoard, ticket: str) -> bool:
    return ticket in printed_numbers(kiosk.printed())


def kiosk_for(center: Center, folder: Path) -> HostBoard:
    return HostBoard(folder / "kiosk-1", "kiosk", "kiosk-1", center.config.id, (lan_host(), center.broker.tls_port),
                     center.password("kiosk-1"), ca=center.ca).start()  # fmt: skip


def test_idle_sockets_lock_out_no_board_and_keep_no_gateway_away(tmp_path):
    center = Center(tmp_path / "center")
    attack: list[socket.socket] = []
    kiosk = None
    try:
        attack = idle_sockets(center.broker.tls_port)
        assert len(attack) == IDLE and wait_for(lambda: broker_files(center) > IDLE, 10), broker_files(center)
        kiosk = kiosk_for(center, tmp_path)
        assert wait_for(lambda: (kiosk.folder / "blocks" / "rev").exists(), 30), kiosk.output()[-2000:]
        kiosk.press(0, hold_s=0.2)
        assert wait_for(lambda: printed(kiosk, "A001"), 15), kiosk.output()[-2000:]

        center.broker.stop(kill=True)  # the broker restarts; the attacker is back at once
        close_all(attack)
        center.broker.start()
        attack = idle_sockets(center.broker.tls_port)
        assert len(attack) == IDLE
        center.wait_connected(2, timeout=30)  # the gateway, on its own listener
        assert wait_for(lambda: kiosk.output().count("link: online") >= 2, 40), kiosk.output()[-2000:]
        kiosk.press(0, hold_s=0.2)
        assert wait_for(lambda: printed(kiosk, "A002"), 15), kiosk.output()[-2000:]
        assert broker_files(center) > IDLE  # the attack was still holding its sockets
    finally:
        close_all(attack)
        if kiosk:
            kiosk.stop()
        center.stop()


def test_the_attack_is_real_with_debians_default_file_limit(tmp_path):
    """The control: the same broker files with the file limit Debian gives a service by default
    (systemd's 1,024): the idle sockets take every file Mosquitto may open, and the board stays out."""
    center = Center(tmp_path / "center", nofile=DEBIAN_DEFAULT_NOFILE)
    attack: list[socket.socket] = []
    kiosk = None
    try:
        attack = idle_sockets(center.broker.tls_port, CONTROL)
        assert wait_for(lambda: broker_files(center) >= DEBIAN_DEFAULT_NOFILE - 1, 10), broker_files(center)
        kiosk = kiosk_for(center, tmp_path)
        assert not wait_for(lambda: "link: online" in kiosk.output(), 8), "the board got in: the attack is not real"
    finally:
        close_all(attack)
        if kiosk:
            kiosk.stop()
        center.stop()
    assert MOSQUITTO_NOFILE > CONTROL + 1000
