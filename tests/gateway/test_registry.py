"""Board health and alerts: only during opening hours, in Vietnamese."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from gateway.cli import main
from gateway.registry import Registry
from gateway.web import WebServer, create_app

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=HCM).timestamp()
MONDAY_12 = datetime(2026, 11, 23, 12, 0, tzinfo=HCM).timestamp()
SUNDAY_9 = datetime(2026, 11, 22, 9, 0, tzinfo=HCM).timestamp()


def test_opening_hours(center):
    r = Registry(center)
    assert r.is_open(MONDAY_9) and not r.is_open(MONDAY_12) and not r.is_open(SUNDAY_9)


def test_offline_and_paper_alerts_only_when_open(center):
    r = Registry(center)
    for device in center.devices:
        r.seen(device.id, "status", "online", MONDAY_9 - 60)
    r.seen("kiosk-2", "status", "lost", MONDAY_9 - 30)
    r.seen("kiosk-1", "tele", {"paper": "out", "rssi": -70}, MONDAY_9 - 10)
    alerts = {(a["device"], a["kind"]): a["message"] for a in r.alerts(MONDAY_9)}
    assert alerts == {
        ("kiosk-2", "offline"): "Thiết bị kiosk-2 (kiosk) mất kết nối",
        ("kiosk-1", "paper_out"): "Máy in của kiosk-1 hết giấy",
    }
    assert r.alerts(MONDAY_12) == [] and r.alerts(SUNDAY_9) == []


def test_devices_command_lists_boards_and_alerts(gateway, boards):
    import json

    kiosk = boards("kiosk-1")
    kiosk.publish("status", "online")
    kiosk.publish("tele", json.dumps({"rssi": -58, "paper": "low", "outbox": 0}))
    kiosk.ack_for(kiosk.press())
    gateway.clock = lambda: MONDAY_9  # inside opening hours
    web = WebServer(create_app(gateway.hub, devices=gateway.devices_report), "127.0.0.1", 0).start()
    try:
        result = CliRunner().invoke(main, ["devices", "--url", f"http://127.0.0.1:{web.port}"])
    finally:
        web.stop()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["device", "role", "binding", "status"]
    kiosk_line = next(line for line in lines if line.startswith("kiosk-1"))
    assert "online" in kiosk_line and "-58" in kiosk_line and "low" in kiosk_line
    assert "CẢNH BÁO: Máy in của kiosk-1 sắp hết giấy" in lines
    assert "CẢNH BÁO: Thiết bị counter-1 (counter) mất kết nối" in lines  # never said it was online


def test_devices_command_without_a_gateway_is_a_clear_error():
    result = CliRunner().invoke(main, ["devices", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0 and "cannot reach the gateway" in result.output
