"""The hall's TV page in headless Chromium: live, and still live after the gateway restarts."""

from __future__ import annotations

import time

from playwright.sync_api import expect


def call_next(kiosk, counter) -> str:
    kiosk.ack_for(kiosk.press(button=0))
    return counter.ack_for(counter.key("next"))["ticket"]


def finish(counter) -> None:
    counter.ack_for(counter.key("start"))
    counter.ack_for(counter.key("complete"))


def test_a_call_appears_within_a_second_without_reload_and_after_a_restart(
    gateway_process, boards, browser_page, tmp_path
):
    gateway = gateway_process.start()
    page = browser_page
    page.goto(gateway.url + "/hall")
    expect(page.locator("#link")).to_have_text("Đã kết nối", timeout=5000)
    expect(page.locator("#center")).to_have_text("Trung tâm thử nghiệm")

    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    counter.ack_for(counter.key("open"))
    assert call_next(kiosk, counter) == "A001"
    acked = time.monotonic()
    expect(page.locator("#now-ticket")).to_have_text("A001", timeout=1000)
    expect(page.locator("#now-counter")).to_have_text("1", timeout=1000)
    elapsed = time.monotonic() - acked
    assert elapsed < 1.0
    print(f"hall page showed the call {elapsed * 1000:.0f} ms after the ack")
    expect(page.locator("#now")).to_have_class("new")
    finish(counter)
    page.screenshot(path=str(tmp_path / "hall.png"))
    expect(page.locator("#now")).not_to_have_class("new", timeout=8000)  # its 6-second moment is over

    gateway.kill()
    expect(page.locator("#link")).to_have_text("Mất kết nối với máy chủ, đang thử lại…", timeout=5000)
    gateway.start()
    deadline = time.monotonic() + 10  # polled from here: the page's CSP forbids the eval wait_for_function uses
    while page.evaluate("window.hangchoOpens || 0") < 2:
        assert time.monotonic() < deadline, "the page did not reconnect"
        time.sleep(0.05)
    expect(page.locator("#now-ticket")).to_have_text("A001")  # the state came back from the journal

    assert call_next(kiosk, counter) == "A002"
    acked = time.monotonic()
    expect(page.locator("#now-ticket")).to_have_text("A002", timeout=1000)
    elapsed = time.monotonic() - acked
    assert elapsed < 1.0
    print(f"after the restart: {elapsed * 1000:.0f} ms")
    expect(page.locator("#calls li").first).to_contain_text("A001")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded


def test_waiting_counts_per_service(gateway_process, boards, browser_page):
    gateway = gateway_process.behind_nginx().start()
    browser_page.goto(gateway.proxy.http + "/hall")  # as a TV: plain HTTP through nginx, the stream unbuffered
    expect(browser_page.locator("#link")).to_have_text("Đã kết nối", timeout=5000)
    kiosk = boards("kiosk-1")
    for button in (0, 0, 1):
        kiosk.ack_for(kiosk.press(button=button))
    rows = browser_page.locator("#waiting tr")
    expect(rows.nth(0)).to_contain_text("A · Chứng thực")
    expect(rows.nth(0).locator(".count")).to_have_text("2")
    expect(rows.nth(1).locator(".count")).to_have_text("1")


def test_a_counter_served_from_the_browser_console(gateway_process, boards, trusting_browser_page):
    gateway = gateway_process.start()
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0))
    page = trusting_browser_page
    page.goto(gateway.proxy.http + "/console")  # plain HTTP: sent on to HTTPS
    assert page.url == gateway.proxy.https + "/console"
    page.select_option("select[name=counter]", "1")
    page.fill("input[name=pin]", "2468")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Quầy 1")
    expect(page.locator("#key-open")).to_be_enabled()
    expect(page.locator("#key-next")).to_be_disabled()  # closed: only opening is offered, with the reason
    expect(page.locator("#why-next")).to_have_text("Quầy 1 đang đóng, cần mở quầy trước")
    page.click("#key-open")
    expect(page.locator("#status")).to_have_text("Quầy đang mở")
    expect(page.locator("#message")).to_have_text("Quầy đã mở: sẵn sàng gọi số.")
    page.click("#key-next")
    expect(page.locator("#ticket")).to_have_text("A001")
    expect(page.locator("#heading")).to_have_text("Đã gọi, chờ công dân đến quầy")  # not yet "serving"
    expect(page.locator("#message")).to_have_text("Đã gọi số A001 đến quầy 1.")
    expect(page.locator("#key-next")).to_be_disabled()  # a ticket in hand: the reason says so
    expect(page.locator("#why-next")).to_contain_text("đang phục vụ số A001")
    expect(page.locator("#why-no_show")).to_contain_text("Cần gọi lại số A001 ít nhất 2 lần")
    page.select_option("#agency", "Sở Tư pháp")
    page.click("#key-forwarded")  # call → forward, without a separate start
    expect(page.locator("#message")).to_have_text("Số A001: đã nhận hồ sơ, chuyển đến Sở Tư pháp.")
    expect(page.locator("#message")).to_have_class("done")
    expect(page.locator("#ticket")).to_have_text("—")
    expect(page.locator("#why-next")).to_have_text("Không có ai đang chờ ở các dịch vụ của quầy này")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll on a phone
    boxes = [page.locator(f"#key-{k}").bounding_box() for k in ("next", "resolved", "recall", "no_show", "start")]
    assert all(b["y"] < boxes[4]["y"] for b in boxes[:4])  # the four main actions first
    cookie = next(c for c in page.context.cookies() if c["name"] == "hangcho_console")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_the_flash_keeps_every_text_readable_and_calls_together_each_get_their_moment(
    gateway_process, boards, browser_page, tmp_path
):
    """WCAG AA (4.5:1) for every text at every sampled frame of the new-call flash (rig/contrast.py:
    the page's animations held at each moment), a priority call marked, two calls made together
    shown one after the other, and the center's clock."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rig.contrast import lowest_contrast, style_at

    gateway = gateway_process.start()
    page = browser_page
    page.goto(gateway.url + "/hall")
    expect(page.locator("#link")).to_have_text("Đã kết nối", timeout=5000)
    kiosk, first, second = boards("kiosk-1"), boards("counter-1"), boards("counter-2")
    for counter in (first, second):
        counter.ack_for(counter.key("open"))
    kiosk.ack_for(kiosk.press(button=0, priority=True))
    kiosk.ack_for(kiosk.press(button=0))
    one = first.ack_for(first.key("next"))["ticket"]
    two = second.ack_for(second.key("next"))["ticket"]
    expect(page.locator("#now-ticket")).to_have_text(one, timeout=2000)  # the first, flashing
    expect(page.locator("#now")).to_have_class("new")
    expect(page.locator("#now-priority")).to_have_text("Ưu tiên · Người cao tuổi")
    ratio, words, colour, background, at = lowest_contrast(page, [ms * 25.0 for ms in range(0, 241)])
    print(f"lowest contrast over the flash: {ratio:.2f} ({words!r}, {colour} on {background}, at {at:.0f} ms)")
    assert ratio >= 4.5, (ratio, words, colour, background, at)
    flash = [style_at(page, "#now", "background-color", ms) for ms in (250, 750, 1250, 1750)]
    assert flash == ["rgb(18, 49, 92)", "rgb(255, 215, 94)"] * 2, flash  # it flashes, in two palettes
    page.screenshot(path=str(tmp_path / "hall-flash.png"))
    expect(page.locator("#calls li").first).to_contain_text("Quầy")
    expect(page.locator("#now-ticket")).to_have_text(two, timeout=8000)  # its own moment, after the first's
    expect(page.locator("#now-priority")).to_be_hidden()
    expect(page.locator("#calls li").first).to_contain_text(one)
    expect(page.locator("#calls li").first.locator(".mark")).to_have_text("Ưu tiên")
    clock = page.locator("#clock").text_content()
    hanoi = [datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).timestamp() + d for d in (-60, 0, 60)]
    assert clock in {datetime.fromtimestamp(t, ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M") for t in hanoi}, clock
