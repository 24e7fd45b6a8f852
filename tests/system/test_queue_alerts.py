"""A queue's alert end to end: presses on a kiosk overload the real `hangcho-gateway run`, whose
fleet page and `devices` command say so (its log: tests/gateway/test_queue_alerts.py), and its
sync carries the alert to the province's overview (its row marked, a red badge) and the
center's page (the message, red), readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from rig.contrast import lowest_contrast
from rig.province import Province
from server import accounts, schema
from tests.conftest import SMALL_CENTER_FILE
from tests.system.test_gateway_sync import wait_until

PASSWORD = "mật-khẩu-đủ-dài"
MESSAGE = "Đang có 3 người chờ (ngưỡng 2)"


def test_an_overload_at_the_gateway_reaches_the_overview_and_the_center_page(gateway_process, boards, center,
                                                                             browser_page, tmp_path):  # fmt: skip
    config = tmp_path / "center.toml"  # thresholds low enough for three presses
    config.write_text(SMALL_CENTER_FILE.read_text(encoding="utf-8") + "\n[alerts]\nwaiting = 2\nservice_waiting = 2\n",
                      encoding="utf-8")  # fmt: skip
    province = Province(f"sqlite:///{tmp_path / 'server.db'}", [center]).start()
    with province.engine.begin() as conn:
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
    (tmp_path / "token").write_text(province.tokens["test"])
    gateway_process.config = config
    gateway_process.extra = ["--sync-url", province.url,
                             "--sync-token-file", str(tmp_path / "token"), "--sync-interval", "1"]  # fmt: skip
    gateway = gateway_process.start()
    try:
        kiosk = boards("kiosk-1")
        for _ in range(3):
            kiosk.ack_for(kiosk.press(button=0))

        def alerts() -> list:
            with province.engine.connect() as conn:
                body = conn.execute(select(schema.snapshots.c.body)).scalar_one_or_none()
            return [] if body is None else body["alerts"]

        wait_until(lambda: {"service": None, "kind": "overload", "message": MESSAGE} in alerts())
        service = "Đang có 3 người chờ dịch vụ A – Chứng thực (ngưỡng 2)"
        assert {"service": "A", "kind": "overload", "message": service} in alerts()

        cli = Path(sys.executable).parent / "hangcho-gateway"
        printed = subprocess.run([cli, "devices", "--url", gateway.url], capture_output=True, text=True, timeout=30)
        assert f"CẢNH BÁO: {MESSAGE}" in printed.stdout, printed.stdout + printed.stderr

        page = browser_page
        page.goto(gateway.url + "/devices")
        expect(page.locator("#alerts li.queue").first).to_contain_text(MESSAGE)
        expect(page.locator("#center-name")).to_have_text("Trung tâm thử nghiệm")

        base = f"http://127.0.0.1:{province.port}"
        page.goto(base + "/")
        page.fill("input[name=username]", "tinh")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        row = page.locator("#live tr[data-center=test]")
        expect(row).to_have_class("alerting", timeout=5000)
        expect(row.locator("td.alerts .badge.alert-queue")).to_have_text(["Quá tải"])
        assert MESSAGE in row.locator("td.alerts").get_attribute("title")
        ratio, words, colour, background, _ = lowest_contrast(page, [0])
        assert ratio >= 4.5, (ratio, words, colour, background)
        for width, height in ((1920, 1080), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(tmp_path / f"overview-{width}.png"), full_page=True)

        page.goto(base + "/centers/test")
        item = page.locator("#live-alerts li.queue").filter(has_text=MESSAGE)
        expect(item).to_have_count(1, timeout=5000)
        expect(item.locator(".badge")).to_have_text("Quá tải")
        ratio, words, colour, background, _ = lowest_contrast(page, [0])
        assert ratio >= 4.5, (ratio, words, colour, background)
        for width, height in ((1920, 1080), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(tmp_path / f"center-{width}.png"), full_page=True)
    finally:
        province.close()
