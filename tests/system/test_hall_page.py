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
    page.click("button[data-action=open]")
    expect(page.locator("#status")).to_have_text("Đang mở")
    page.click("button[data-action=next]")
    expect(page.locator("#ticket")).to_have_text("A001")
    expect(page.locator("#message")).to_have_text("Số A001")
    page.click("button[data-action=next]")  # refused: the counter has a ticket in hand
    expect(page.locator("#message")).to_contain_text("đang phục vụ số A001")
    expect(page.locator("#message")).to_have_class("error")
    cookie = next(c for c in page.context.cookies() if c["name"] == "hangcho_console")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
