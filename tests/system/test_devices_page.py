"""The gateway's fleet page in headless Chromium: every board, its health, and the alerts."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from gateway.web import WebServer, create_app

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=HCM).timestamp()
MONDAY_20 = datetime(2026, 11, 23, 20, 0, tzinfo=HCM).timestamp()


def test_the_fleet_page_shows_every_board_and_the_alerts(gateway, boards, browser_page, tmp_path):
    kiosk = boards("kiosk-1")
    kiosk.publish("status", "online")
    kiosk.publish("info", json.dumps({"role": "kiosk", "app": "0.1.1", "bundle": "0c3af9f91c65", "trial": False,
                                      "update_failed": "77aa00bb11cc"}))  # fmt: skip
    kiosk.publish("tele", json.dumps({"rssi": -71, "paper": "out", "outbox": 3, "reconnects": 2, "chip_c": 48}))
    kiosk.ack_for(kiosk.press())  # the gateway has read everything the kiosk sent before
    gateway.clock = lambda: MONDAY_9
    web = WebServer(create_app(gateway.hub, devices=gateway.devices_report), "127.0.0.1", 0).start()
    page = browser_page
    try:
        page.goto(f"http://127.0.0.1:{web.port}/devices")
        row = page.locator("#devices tr[data-device=kiosk-1]")
        expect(row).to_contain_text("Máy lấy số")
        cells = row.locator("td")
        expect(cells.nth(3)).to_have_text("Trực tuyến")
        expect(cells.nth(4)).to_have_text("0.1.1 (0c3af9f91c65) · cập nhật 77aa00bb11cc lỗi, đã quay lại")
        expect(cells.nth(6)).to_have_text("-71 dBm")
        expect(cells.nth(7)).to_have_text("Hết giấy")
        expect(cells.nth(9)).to_have_text("3")
        expect(row).to_have_class("bad")
        counter = page.locator("#devices tr[data-device=counter-1] td")
        expect(counter.nth(1)).to_have_text("Bảng quầy")
        expect(counter.nth(2)).to_have_text("quầy 1")
        expect(counter.nth(3)).to_have_text("Chưa thấy")
        expect(page.locator("#center-name")).to_have_text("Trung tâm thử nghiệm")  # from the report
        expect(page.locator("#center-time")).to_have_text("Giờ trung tâm: 09:00, Thứ Hai, 23/11/2026")  # its clock
        expect(page.locator("#opening")).to_have_text("Đang giờ làm việc")
        silent = page.locator("#devices tr[data-device=kiosk-2] td").nth(7)  # never seen: nothing to tell
        expect(silent).to_have_text("Chưa báo (chưa thấy thiết bị)")
        alerts = page.locator("#alerts li")
        expect(alerts.filter(has_text="Máy in của kiosk-1 hết giấy")).to_have_count(1)
        expect(alerts.filter(has_text="Thiết bị counter-1 (counter) mất kết nối")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "devices.png"), full_page=True)

        gateway.clock = lambda: MONDAY_20  # after hours: the same boards, no alerts
        page.reload()
        expect(page.locator("#alerts li")).to_have_text(["Ngoài giờ làm việc: không cảnh báo."])
        expect(page.locator("#center-time")).to_have_text("Giờ trung tâm: 20:00, Thứ Hai, 23/11/2026")
        expect(page.locator("#opening")).to_have_text("Ngoài giờ làm việc")
        expect(page.locator("#devices tbody tr")).to_have_count(len(gateway.config.devices))
    finally:
        web.stop()


def test_the_fleet_page_tells_a_known_paper_state_from_one_not_reported(gateway, boards, browser_page, tmp_path):
    """A kiosk's paper as its last `tele` said; a printer that did not answer the sensor, or a kiosk
    that sent no `tele` yet, is "chưa báo" with how long ago it last spoke; on the center's clock,
    under the center's name, at a phone's width and a wall screen's."""
    from gateway.config import load_center
    from tests.conftest import SMALL_CENTER_FILE

    now = [MONDAY_9]
    gateway.clock = lambda: now[0]  # the center's clock (a demo's simulated one), before anything is seen
    ok, silent = boards("kiosk-1"), boards("kiosk-2")
    ok.publish("status", "online")
    ok.publish("tele", json.dumps({"rssi": -60, "paper": "ok"}))
    silent.publish("status", "online")
    silent.publish("tele", json.dumps({"rssi": -65, "paper": "unknown"}))
    ok.ack_for(ok.press())
    silent.ack_for(silent.press())
    app = create_app(gateway.hub, devices=gateway.devices_report, center=load_center(SMALL_CENTER_FILE))
    web = WebServer(app, "127.0.0.1", 0).start()
    page = browser_page
    try:
        page.goto(f"http://127.0.0.1:{web.port}/devices")
        expect(page).to_have_title("Thiết bị — Trung tâm thử nghiệm")
        paper = lambda device: page.locator(f"#devices tr[data-device={device}] td").nth(7)  # noqa: E731
        expect(paper("kiosk-1")).to_have_text("Đủ giấy")
        expect(paper("kiosk-2")).to_have_text(re.compile(r"^Chưa báo: máy in không trả lời \(\d+ giây trước\)$"))
        now[0] = MONDAY_9 + 10 * 60  # ten minutes later on the center's clock, no tele since
        page.reload()
        expect(paper("kiosk-2")).to_have_text("Chưa báo: máy in không trả lời (10 phút trước)")
        expect(page.locator("#center-time")).to_have_text("Giờ trung tâm: 09:10, Thứ Hai, 23/11/2026")
        for width, height in ((1920, 1080), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, width
            page.screenshot(path=str(tmp_path / f"devices-{width}.png"), full_page=True)
    finally:
        web.stop()
