"""Attacks on the staff console of a running center (`hangcho-gateway run` behind nginx, as
`install` sets it up), with clients that are not the project's own: curl, http.client and ssl,
a TCP relay that records the bytes on the wire. Other machines on the LAN are other loopback
addresses (127.0.0.2, 127.0.0.3): the gateway sees them as different clients."""

from __future__ import annotations

import re
import subprocess
import urllib.parse

from rig.wire import RecordingRelay, SourceHTTPSConnection, request, tls_context

PIN = "2468"  # counter 1's in tests/data/small_center.toml
COOKIE = "hangcho_console"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def https(gateway, source="127.0.0.1"):
    return SourceHTTPSConnection("127.0.0.1", gateway.proxy.https_port, source, tls_context(gateway.proxy.ca))


def sign_in(conn, pin=PIN):
    return request(conn, "POST", "/console/login", urllib.parse.urlencode({"counter": 1, "pin": pin}).encode(), FORM)


def state(conn, token):
    return request(conn, "GET", "/console/state", headers={"Cookie": f"{COOKIE}={token}"}).status


def csrf(conn, token) -> str:
    page = request(conn, "GET", "/console", headers={"Cookie": f"{COOKIE}={token}"}).body.decode()
    return re.search(r'data-csrf="([^"]+)"', page)[1]


def test_plain_http_to_the_console_is_redirected_by_nginx(gateway_process):
    gateway = gateway_process.behind_nginx().start()
    for path in ("/console", "/devices", "/ota/0123456789ab/manifest.json", "/voice"):
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", gateway.proxy.http + path]
        out = subprocess.run(curl, capture_output=True, text=True, timeout=30).stdout
        assert out == f"301 {gateway.proxy.https}{path}", (path, out)
    hall = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", gateway.proxy.http + "/hall"],
                          capture_output=True, text=True, timeout=30).stdout  # fmt: skip
    assert hall == "200"  # the TV's page stays on plain HTTP
    verified = subprocess.run(["curl", "-s", "--cacert", str(gateway.proxy.ca), gateway.proxy.https + "/console"],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    assert verified.returncode == 0 and "Mã PIN" in verified.stdout  # curl trusts it only with the center's CA
    voice = subprocess.run(["curl", "-s", "--cacert", str(gateway.proxy.ca), gateway.proxy.https + "/voice"],
                           capture_output=True, text=True, timeout=30)  # fmt: skip
    assert "Ghi âm giọng gọi số" in voice.stdout  # the recording page of `run`, over HTTPS
    untrusted = subprocess.run(["curl", "-s", gateway.proxy.https + "/console"], capture_output=True, timeout=30)
    assert untrusted.returncode == 60  # the system's CAs do not vouch for it: curl refuses


def test_a_cookie_dies_at_logout_and_at_a_pin_change_with_restart(gateway_process, tmp_path):
    gateway = gateway_process.behind_nginx().start()
    conn = https(gateway)
    token = sign_in(conn).cookies[COOKIE]
    assert state(conn, token) == 200
    assert request(conn, "POST", "/console/logout", urllib.parse.urlencode({"csrf": csrf(conn, token)}).encode(),
                   {**FORM, "Cookie": f"{COOKIE}={token}"}).status == 302  # fmt: skip
    assert state(https(gateway), token) == 401  # the copy taken before logout is worth nothing

    token = sign_in(conn).cookies[COOKIE]
    gateway.stop()
    gateway.start()  # a plain restart keeps the clerk signed in
    assert state(https(gateway), token) == 200

    changed = tmp_path / "center.toml"
    changed.write_text(gateway.config.read_text(encoding="utf-8").replace(f'pin = "{PIN}"', 'pin = "9753"'),
                       encoding="utf-8")  # fmt: skip
    gateway.config = changed
    gateway.stop()
    gateway.start()
    assert state(https(gateway), token) == 401  # a new PIN ends every sign-in of the counter
    assert sign_in(https(gateway), pin="9753").status == 302


def test_wrong_pins_from_one_machine_never_lock_out_the_clerk_on_another(gateway_process):
    gateway = gateway_process.behind_nginx().start()
    guesser = https(gateway, "127.0.0.2")
    answers = [sign_in(guesser, pin=f"{n:04d}").status for n in range(150)]
    assert answers.count(403) >= 3 and answers.count(429) > 100  # slowed down: most guesses are not even tried
    held = sign_in(guesser)
    assert held.status == 429 and int(held.headers["retry-after"]) >= 1  # the guesser's machine waits, PIN or not
    clerk = sign_in(https(gateway, "127.0.0.3"))
    assert clerk.status == 302 and COOKIE in clerk.cookies  # the counter itself is not locked


def test_no_pin_or_cookie_crosses_the_wire_in_clear(gateway_process):
    gateway = gateway_process.behind_nginx().start()
    relay = RecordingRelay(("127.0.0.1", gateway.proxy.https_port))
    conn = SourceHTTPSConnection("127.0.0.1", relay.port, "127.0.0.1", tls_context(gateway.proxy.ca))
    token = sign_in(conn).cookies[COOKIE]
    assert state(conn, token) == 200
    conn.close()
    wire = relay.captured
    relay.close()
    assert len(wire) > 1000 and b"pin=" + PIN.encode() not in wire and token.encode() not in wire

    # The same over plain HTTP (the gateway's own port, which only this machine may use): the check
    # sees both, so it would see a leak.
    import http.client

    plain_relay = RecordingRelay(("127.0.0.1", gateway.http_port))
    plain = http.client.HTTPConnection("127.0.0.1", plain_relay.port, timeout=10)
    leaked = sign_in(plain).cookies[COOKIE]
    assert state(plain, leaked) == 200
    plain.close()
    clear = plain_relay.captured
    plain_relay.close()
    assert b"pin=" + PIN.encode() in clear and leaked.encode() in clear
