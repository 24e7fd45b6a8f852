"""`hangcho-tech provision` against a virtual board (MicroPython's unix port behind a TCP
serial console, a folder as its flash), a real Mosquitto and the real gateway."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gateway.pki import der

SMALL_CENTER = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"


def test_a_board_is_provisioned_comes_online_and_prints_a_ticket(gateway, broker, virtual_board, provision):
    result = provision(virtual_board, broker)
    assert result.exit_code == 0, result.output
    for step in ("cấu hình", "tài khoản MQTT", "chip", "ứng dụng", "trực tuyến"):
        assert f"ĐẠT (pass)  {step}" in result.output, result.output
    flash = virtual_board.flash
    config = json.loads((flash / "config.json").read_text())
    assert (config["device"], config["role"], config["broker"]["port"]) == ("kiosk-1", "kiosk", broker.tls_port)
    assert config["ca"] == "ca.crt" and (flash / "ca.crt").read_bytes() == der(broker.files.ca.read_bytes())
    assert (
        config["pins"]["printer"]["tx"] == 17
        and (flash / "apps" / (flash / "apps" / "current").read_text() / "kiosk.mpy").exists()
    )
    assert gateway.registry.entries["kiosk-1"].info["config_rev"] == config["rev"]
    (flash / "pins").mkdir(exist_ok=True)
    (flash / "pins" / str(config["pins"]["buttons"][0])).write_text("0")  # a citizen presses "A"
    deadline = time.monotonic() + 15
    while b"A001" not in ((flash / "uart2.bin").read_bytes() if (flash / "uart2.bin").exists() else b""):
        assert time.monotonic() < deadline, (flash / "console.log").read_text(errors="replace")[-2000:]
        time.sleep(0.1)
    assert list(gateway.dispatcher.state.tickets) == ["A001"]


def test_a_board_that_cannot_reach_the_broker_fails_and_says_why(broker, virtual_board, provision):
    """The board is told a broker address where nothing listens; the tool watches the real one."""
    result = provision(virtual_board, broker, "--broker", "127.0.0.1:1", "--local-broker", f"127.0.0.1:{broker.port}",
                       "--timeout", "8")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert (
        "LỖI (FAIL)  trực tuyến (online): the board cannot use the broker at 127.0.0.1:1: mqtt: broker" in result.output
    )
    assert "--- the board's console ---" in result.output and "OSError" in result.output


def test_a_device_missing_from_the_center_is_refused_before_the_board_is_touched(broker, virtual_board, provision):
    result = provision(virtual_board, broker, device="kiosk-9")
    assert result.exit_code == 1
    assert "'kiosk-9' không có trong" in result.output and "known: kiosk-1, kiosk-2" in result.output
    assert not (virtual_board.flash / "config.json").exists()


def test_a_new_device_gets_its_account_and_the_broker_reloads(broker, virtual_board, tmp_path, provision):
    center = (
        SMALL_CENTER.read_text(encoding="utf-8") + '\n[[devices]]\nid = "kiosk-3"\nrole = "kiosk"\nbuttons = ["A"]\n'
    )
    (tmp_path / "center.toml").write_text(center, encoding="utf-8")
    result = provision(virtual_board, broker, device="kiosk-3", config=tmp_path / "center.toml")
    assert result.exit_code == 0, result.output
    assert "created, broker reloaded" in result.output
    assert '"kiosk-3"' in broker.files.secrets.read_text()
