"""axe-core on every page people use, in Chromium: 0 serious or critical violations. The hall is
audited at moments sampled through its new-call flash too (every animation held at each one), since
that is when citizens look up."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gateway.web import WebServer, create_app
from rig.a11y import report, violations
from rig.broker import free_port
from tests.server.test_monthly import months  # noqa: F401  (a fixture)
from tests.system.test_dashboard_browser import log_in, province  # noqa: F401  (a fixture)

FLASH_MS = (0, 250, 500, 750, 1000, 1500, 3000, 5500)  # both palettes of the flash, and its end


def audited(page, where: str, at_ms: float | None = None) -> None:
    found = violations(page, at_ms)
    assert not found, f"{where}{'' if at_ms is None else f' at {at_ms} ms'}:\n{report(found)}"


@pytest.fixture
def center_pages(gateway, center):
    """The gateway's pages (hall, fleet, console, ticket status) on loopback, as in a center."""
    app = create_app(gateway.hub, gateway.read, gateway.submit, center, b"a11y" * 8, gateway.devices_report)
    web = WebServer(app, "127.0.0.1", free_port()).start()
    yield f"http://127.0.0.1:{web.port}"
    web.stop()


def test_the_center_pages(center_pages, gateway, boards, browser_page):
    page, base = browser_page, center_pages
    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    counter.ack_for(counter.key("open"))
    kiosk.ack_for(kiosk.press(button=0, priority=True))
    second = kiosk.ack_for(kiosk.press(button=1))["ticket"]
    page.goto(base + "/hall")
    expect(page.locator("#link")).to_have_text("Đã kết nối", timeout=5000)
    audited(page, "hall, waiting")
    counter.ack_for(counter.key("next"))
    expect(page.locator("#now")).to_have_class("new", timeout=2000)
    for at in FLASH_MS:
        audited(page, "hall, a new call", at)
    page.goto(base + "/console")
    audited(page, "console sign-in")
    page.select_option("select[name=counter]", "1")
    page.fill("input[name=pin]", "2468")
    page.click("button[type=submit]")
    for width in (1920, 390):
        page.set_viewport_size({"width": width, "height": 1080 if width > 400 else 844})
        page.goto(base + "/console")
        expect(page.locator("#ticket")).not_to_have_text("—", timeout=5000)  # a ticket in hand: keys enabled
        audited(page, f"console at {width} px")
        page.goto(base + "/devices")
        expect(page.locator("body")).to_contain_text("kiosk-1")
        audited(page, f"fleet page at {width} px")
        page.goto(f"{base}/t/{gateway.dispatcher.state.day}/{second}")
        expect(page.locator("body")).to_contain_text(second)
        audited(page, f"ticket status page at {width} px")


def test_the_province_pages(province, browser_page):  # noqa: F811  (the fixture imported above)
    base, desk = province
    page = browser_page
    desk.issue("A")
    desk.issue("B")
    ticket = desk.issue("B")
    desk.serve(1)
    page.goto(base + "/login")
    audited(page, "server sign-in")
    log_in(page, base)
    expect(page.locator("#live tr[data-center=test] td.waiting")).not_to_have_text("", timeout=5000)
    for width in (1920, 390):
        page.set_viewport_size({"width": width, "height": 1080 if width > 400 else 844})
        if width == 390:
            desk.serve(1)  # B001 done: the ticket is next
        for path, what in (("/", "overview"), ("/centers/test", "center page"), ("/compare", "compare page"),
                           ("/days", "day by day"), ("/days?center=test", "a center's days"),
                           ("/audit", "audit log"), ("/users", "users page"),
                           ("/?province=79", "a province's overview")):  # fmt: skip
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            audited(page, f"{what} at {width} px")
        page.goto(f"{base}/c/test/t/{desk.state.day}/{ticket}")
        expect(page.locator("#ahead")).to_have_text("1" if width == 1920 else "0", timeout=5000)
        audited(page, f"public ticket page at {width} px")
    page.evaluate("window.stayed = true")
    desk.call(1)  # called: the page follows in place, without a reload
    expect(page.locator("#state")).to_contain_text("quầy", timeout=10000)
    assert page.evaluate("window.stayed === true") and page.locator("#waiting").is_hidden()


@pytest.mark.parametrize("server_db", ["sqlite"], indirect=True)
def test_the_monthly_report(months, browser_page):  # noqa: F811  (the fixture imported above)
    """Four centers in three communes of two provinces: every level's table, and one center's."""
    page, web = browser_page, WebServer(months, "127.0.0.1", free_port()).start()
    base = f"http://127.0.0.1:{web.port}"
    try:
        log_in(page, base)
        for width in (1920, 390):
            page.set_viewport_size({"width": width, "height": 1080 if width > 400 else 844})
            for query in ("month=2026-11", "month=2026-11&center=phu-dinh"):
                page.goto(f"{base}/reports/monthly?{query}")
                expect(page.locator("#monthly-summary")).to_contain_text("Hồ sơ tiếp nhận")
                audited(page, f"monthly report ({query}) at {width} px")
                assert page.evaluate("document.documentElement.scrollWidth") <= width  # tables scroll, not the page
    finally:
        web.stop()
