"""Updates over the air, end to end: a provisioned virtual board, the gateway's /ota/ route
serving the bundle over HTTPS (nginx with the center's CA, as in a center), `hangcho-tech update`
sending it; a good bundle is kept, a broken one is rolled back by the board itself."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from gateway import ota
from gateway.web import WebServer
from rig.proxy import Proxy
from tech.bundle import APP
from tech.cli import main

SMALL_CENTER = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"


@pytest.fixture
def ota_server(tmp_path, broker):
    """The gateway's bundle route behind nginx: (folder, the HTTPS port). The CA sits with the broker
    files, where provisioning takes it for the board."""
    folder = tmp_path / "ota"
    folder.mkdir()
    app = Flask(__name__)
    app.register_blueprint(ota.blueprint(folder))
    web = WebServer(app, "127.0.0.1", 0).start()
    proxy = Proxy(f"127.0.0.1:{web.port}", broker.files.secrets.parent, tmp_path / "nginx")
    yield folder, proxy.https_port
    proxy.stop()
    web.stop()


def release(tmp_path, name: str, change) -> Path:
    """A copy of the app with one change: a new release."""
    folder = tmp_path / name
    shutil.copytree(APP, folder)
    main_py = folder / "main.py"
    main_py.write_text(change(main_py.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def update(broker, ota_server, app_dir, *extra):
    folder, port = ota_server
    args = ["update", "--device", "kiosk-1", "--config", str(SMALL_CENTER), "--gateway", f"127.0.0.1:{port}",
            "--ota-dir", str(folder), "--broker", f"127.0.0.1:{broker.port}",
            "--broker-dir", str(broker.files.secrets.parent), "--app", str(app_dir), "--healthy-s", "2",
            "--timeout", "60", *extra]  # fmt: skip
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_a_new_bundle_is_tried_kept_and_reported(gateway, broker, virtual_board, provision, ota_server, tmp_path):
    assert provision(virtual_board, broker).exit_code == 0
    flash = virtual_board.flash
    first = (flash / "apps" / "current").read_text()
    new = release(tmp_path, "r2", lambda text: text.replace('APP_VERSION = "0.1.0"', 'APP_VERSION = "0.1.1"'))
    result = update(broker, ota_server, new)
    assert result.exit_code == 0, result.output + (flash / "console.log").read_text(errors="replace")[-3000:]
    version = (flash / "apps" / "current").read_text()
    assert version != first and f"ĐẠT (pass)  kiosk-1: updated to {version}" in result.output
    assert json.loads((ota_server[0] / version / "manifest.json").read_text())["version"] == version
    # The tool heard the committed `info` on its own session; the gateway's may come a moment later.
    deadline = time.monotonic() + 10
    while gateway.registry.entries["kiosk-1"].info.get("trial") and time.monotonic() < deadline:
        time.sleep(0.05)
    info = gateway.registry.entries["kiosk-1"].info
    assert (info["app"], info["bundle"], info["trial"]) == ("0.1.1", version, False)
    assert not (flash / "apps" / "trying").exists()
    again = update(broker, ota_server, new)
    assert f"kiosk-1: already on {version}" in again.output
    handshakes = [int(ms) for ms in re.findall(r"ota: tls_handshake_ms (\d+)", (flash / "console.log").read_text())]
    assert handshakes, "the board fetched the bundle without TLS"
    print("tls_handshake_ms", handshakes)


def test_a_gateway_the_ca_did_not_sign_gets_no_update(gateway, broker, virtual_board, provision, ota_server,
                                                      tmp_path):  # fmt: skip
    from gateway.pki import ensure_ca, issue

    assert provision(virtual_board, broker).exit_code == 0
    flash = virtual_board.flash
    first = (flash / "apps" / "current").read_text()
    stranger = issue(ensure_ca(tmp_path / "other-ca", "other"), tmp_path / "other-ca", "web", ["127.0.0.1"])
    proxy_dir = tmp_path / "nginx"
    conf = (proxy_dir / "nginx.conf").read_text()
    conf = conf.replace(str(broker.files.secrets.parent / "web.crt"), str(stranger.cert))
    (proxy_dir / "nginx.conf").write_text(conf.replace(str(broker.files.secrets.parent / "web.key"), str(stranger.key)))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    import subprocess

    subprocess.run([nginx, "-c", str(proxy_dir / "nginx.conf"), "-s", "reload"], check=True)
    deadline = time.monotonic() + 10
    while "other" not in _served_issuer(ota_server[1]):  # the reload is done when the new certificate is served
        assert time.monotonic() < deadline
        time.sleep(0.1)
    new = release(tmp_path, "r3", lambda text: text.replace('APP_VERSION = "0.1.0"', 'APP_VERSION = "0.1.2"'))
    result = update(broker, ota_server, new, "--timeout", "15")
    assert result.exit_code == 1
    log = (flash / "console.log").read_text(errors="replace")
    assert "ota: update failed:" in log and (flash / "apps" / "current").read_text() == first


def _served_issuer(port: int) -> str:
    import ssl

    from cryptography import x509

    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return x509.load_pem_x509_certificate(pem.encode()).issuer.rfc4514_string()


def test_a_bundle_that_does_not_come_online_is_rolled_back(gateway, broker, virtual_board, provision, ota_server,
                                                          tmp_path):  # fmt: skip
    assert provision(virtual_board, broker).exit_code == 0
    flash = virtual_board.flash
    first = (flash / "apps" / "current").read_text()
    head = 'def main(path="config.json"):\n'
    broken = release(
        tmp_path, "bad", lambda text: text.replace(head, head + '    raise RuntimeError("broken release")\n')
    )
    result = update(broker, ota_server, broken)
    assert result.exit_code == 1, result.output
    assert "LỖI (FAIL)  kiosk-1: rolled back from" in result.output and f"to {first}" in result.output
    assert (flash / "apps" / "current").read_text() == first
    assert "broken release" in (flash / "console.log").read_text(errors="replace")
    entry = gateway.registry.entries["kiosk-1"]
    deadline = time.monotonic() + 5
    while "update_failed" not in entry.info:  # the gateway hears the same info a moment later
        assert time.monotonic() < deadline, entry.info
        time.sleep(0.05)
    assert entry.info["bundle"] == first and entry.info["update_failed"] != first


def test_waves_start_with_one_board():
    from tech.update import _outcome, waves

    assert waves(["k1", "k2", "c1", "c2", "h1"], 2) == [["k1"], ["k2", "c1"], ["c2", "h1"]]
    assert waves([], 3) == []
    assert _outcome({"bundle": "b2", "trial": True}, "b2") is None  # still on trial
    assert _outcome({"bundle": "b2", "trial": False}, "b2") == "updated to b2"
    assert _outcome({"bundle": "b1", "update_failed": "b2"}, "b2") == "rolled back from b2 to b1"
