"""Cleartext: the bytes on the wire between a board and the broker, read by a recording relay
(what a sniffer on the Wi-Fi sees), hold no password; the same client speaking plain MQTT
shows it, so the check can fail. A broker impostor (openssl s_server with a certificate of
another CA) gets nothing from a board. The plain listener cannot be reached from the LAN."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from gateway import pki
from gateway.ticket import printed_numbers
from rig.broker import free_port
from rig.center import Center, lan_address
from tech.hostboard import HostBoard
from tests.attacks.outsiders import Relay, lan_host, mosquitto


@pytest.fixture
def center(tmp_path):
    c = Center(tmp_path / "center")
    yield c
    c.stop()


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def pub(center: Center, port: int, tls: bool) -> subprocess.CompletedProcess:
    """mosquitto_pub as kiosk-2, to 127.0.0.1:port (a relay), over TLS or not."""
    args = [mosquitto("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "-u", "kiosk-2",
            "-P", center.password("kiosk-2"), "-t", "hangcho/v1/test/kiosk-2/tele", "-m", "{}", "-q", "1"]  # fmt: skip
    return subprocess.run([*args, *(["--cafile", str(center.ca)] if tls else [])], capture_output=True, timeout=30)


def test_a_boards_password_never_crosses_the_wire_in_cleartext(center, tmp_path):
    relay = Relay(("127.0.0.1", center.broker.tls_port))
    password = center.password("kiosk-1").encode()
    kiosk = HostBoard(tmp_path / "kiosk-1", "kiosk", "kiosk-1", "test", ("127.0.0.1", relay.port), password.decode(),
                      ca=center.ca).start()  # fmt: skip
    try:
        wait_for(lambda: (kiosk.folder / "blocks" / "rev").exists(), 30, f"not online: {kiosk.output()[-2000:]}")
        kiosk.press(0, hold_s=0.2)
        wait_for(lambda: "A001" in printed_numbers(kiosk.printed()), 30, "the press through the relay was not printed")
    finally:
        kiosk.stop()
        relay.close()
    wire = relay.seen()
    assert wire[:1] == b"\x16" and len(wire) > 1000  # a TLS handshake, then the board's traffic
    assert password not in wire and b"MQTT" not in wire

    for tls, listener in ((True, center.broker.tls_port), (False, center.broker.port)):
        relay = Relay(("127.0.0.1", listener))
        try:
            assert pub(center, relay.port, tls).returncode == 0
        finally:
            relay.close()
        assert (center.password("kiosk-2").encode() in relay.seen()) is not tls  # plain MQTT shows it: the check works


def test_a_broker_impostor_gets_no_password_from_a_board(center, tmp_path):
    impostor = pki.issue(pki.ensure_ca(tmp_path / "impostor", "impostor"), tmp_path / "impostor", "broker",
                         ["127.0.0.1"])  # fmt: skip
    port = free_port()
    args = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(impostor.cert), "-key",
            str(impostor.key), "-quiet"]  # fmt: skip
    heard = tmp_path / "impostor.out"
    with open(heard, "wb") as out:  # its stdin stays open: at end of input s_server stops
        server = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _listening(port), 10, "openssl s_server did not start")
        # The control: a client that trusts the impostor's CA hands it the password, and s_server shows it.
        control = subprocess.Popen([mosquitto("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "--cafile",
                                    str(tmp_path / "impostor" / "ca.crt"), "-u", "kiosk-2", "-P",
                                    center.password("kiosk-2"), "-t", "x", "-m", "{}"])  # fmt: skip
        try:
            wait_for(lambda: center.password("kiosk-2").encode() in heard.read_bytes(), 10, "s_server shows nothing")
        finally:
            control.kill()
            control.wait()
        kiosk = HostBoard(tmp_path / "kiosk-1", "kiosk", "kiosk-1", "test", ("127.0.0.1", port),
                          center.password("kiosk-1"), ca=center.ca).start()  # fmt: skip
        try:
            wait_for(lambda: "not correctly signed" in kiosk.output(), 30, f"no refusal: {kiosk.output()[-2000:]}")
        finally:
            kiosk.stop()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert center.password("kiosk-1").encode() not in heard.read_bytes()
    assert "link: online" not in kiosk.output()


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_the_plain_listener_cannot_be_reached_from_the_lan(center):
    """The plain listener is bound to 127.0.0.1: a connection to any other address of this
    machine is refused, while the TLS listener answers there. The address is this machine's LAN
    address; on a machine with none, 127.0.0.2 (another loopback address, which reaches the TLS
    listener bound to every address but not one bound to 127.0.0.1 alone)."""
    other = lan_address() or "127.0.0.2"
    assert _listening(center.broker.port) and _listening(center.broker.tls_port, other)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((other, center.broker.port), timeout=5).close()
    assert lan_host() in center.broker.files.hosts  # the boards' address is in the certificate
