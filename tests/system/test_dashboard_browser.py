"""The province dashboard in headless Chromium, fed by a gateway's real sync thread: log in,
see a center's live numbers change within one sync interval, read the charts (overview, day by
day, center, compare) with their data, download an export, and use it on a phone-sized screen
and a 1366-px laptop without sideways scrolling."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from playwright.sync_api import expect

from gateway.dispatch import Cancel, OpenCounter
from gateway.sync.sender import Sync
from gateway.web import WebServer
from server import accounts
from server.app import close, create_app
from server.settings import Settings

INTERVAL_S = 1
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture
def province(server_db, journaled_desk, tmp_path):
    """The server on a free port, and the test center's gateway pushing to it every second."""
    app = create_app(Settings(database_url=server_db, secret_key="test", sync_interval_s=INTERVAL_S))
    with app.extensions["hangcho.engine"].begin() as conn:
        accounts.add_center(conn, "test", "Trung tâm thử nghiệm", "Phường Thử")
        token = accounts.add_gateway(conn, "test")
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = WebServer(app, "127.0.0.1", port).start()
    desk = journaled_desk
    desk.now = time.time()  # the dashboard shows today's business day
    desk(OpenCounter(1), after=0)
    sync = Sync(desk.state.config, tmp_path / "journal.db", tmp_path / "sync.db",
                f"http://127.0.0.1:{port}/api/v1/sync", token, interval_s=INTERVAL_S)  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=sync.run, args=(stop,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", desk
    stop.set()
    thread.join(timeout=10)
    sync.close()
    web.stop()
    close(app)


def log_in(page, base):
    page.goto(base + "/")
    page.fill("input[name=username]", "tinh")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h2").first).to_have_text("Các trung tâm")


def test_live_numbers_appear_within_one_sync_interval(province, browser_page, tmp_path):
    base, desk = province
    page = browser_page
    refused = []  # what the Content-Security-Policy blocked: the pages must need nothing inline
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    for _ in range(3):
        desk.issue("A")
    log_in(page, base)
    row, now = page.locator("#centers tr[data-center=test]"), page.locator("#live tr[data-center=test]")
    expect(now.locator("td.waiting")).to_have_text("3", timeout=3 * INTERVAL_S * 1000)
    desk.issue("A")
    desk.issue("B")  # two more citizens: the gateway pushes, the page refreshes, both within ~2 intervals
    expect(now.locator("td.waiting")).to_have_text("5", timeout=(2 * INTERVAL_S + 1) * 1000)
    expect(row.locator("td.issued")).to_have_text("5")  # the day's figures apart from the live ones
    expect(page.locator("#centers tfoot tr.total td.issued")).to_have_text("5")  # the province's row
    desk.serve(1)
    expect(row.locator("td.served")).to_have_text("1", timeout=(2 * INTERVAL_S + 1) * 1000)
    desk(Cancel(desk.issue("B")))  # beside served: no-shows, cancelled, unfinished
    expect(row.locator("td.cancelled")).to_have_text("1", timeout=(2 * INTERVAL_S + 1) * 1000)
    expect(row.locator("td.no_show")).to_have_text("0")
    expect(row.locator("td.unfinished")).to_have_text("0")  # today is not over

    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Mã trung tâm,Trung tâm,") and "Trung tâm thử nghiệm" in text

    page.click("text=Trung tâm thử nghiệm")
    expect(page.locator("#services tbody tr")).to_have_count(2)
    expect(page.locator("#chart-arrivals canvas")).to_have_count(1)  # uPlot, served by the server itself
    expect(page.locator("#live-waiting")).to_contain_text("4")
    assert page.evaluate("[Dash.fmt(78.2), Dash.fmt(19075), Dash.fmt(null)]") == ["78,2", "19.075", "–"]
    assert page.evaluate("Dash.hourAxis('h').values(null, [7, 7.2, 7.4, 8])") == ["7h", "", "", "8h"]
    assert refused == []


def overview_at(province, page, width: int, height: int):
    """The overview with one citizen waiting, on a screen of this size, once its rows are in."""
    base, desk = province
    desk.issue("A")
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, base)
    expect(page.locator("#live tr[data-center=test] td.waiting")).to_have_text("1", timeout=3000)
    return page


def test_the_dashboard_fits_a_phone(province, browser_page):
    page = overview_at(province, browser_page, 390, 844)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways; only the tables may"
    page.click("text=English")
    expect(page.locator("h2").first).to_have_text("Centers")
    assert page.evaluate("[Dash.fmt(78.2), Dash.fmt(19075)]") == ["78.2", "19,075"]


def test_the_overview_fits_a_1366_pixel_screen(province, browser_page, tmp_path):
    """Every column of every table in view without scrolling sideways, on the laptop screen a
    province office has, and the province's total row."""
    page = overview_at(province, browser_page, 1366, 768)
    expect(page.locator("#centers tfoot tr.total th")).to_have_text("Toàn quốc (1)")  # tinh: a national user
    hidden = page.evaluate("[...document.querySelectorAll('.scroll')].map((b) => b.scrollWidth - b.clientWidth)")
    assert hidden == [0, 0, 0, 0], f"columns hidden behind a sideways scroll: {hidden} px"  # provinces, 3 of before
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(tmp_path / "overview-1366.png"), full_page=True)


CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => v / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const lum = (c) => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let back = el, bg = "rgba(0, 0, 0, 0)";
  while (back && (bg = getComputedStyle(back).backgroundColor) === "rgba(0, 0, 0, 0)") back = back.parentElement;
  const [a, b] = [lum(getComputedStyle(el).color), lum(back ? bg : "rgb(255, 255, 255)")];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def fits(page) -> None:
    """Nothing wider than the screen: not the page, not a table behind a sideways scroll."""
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, page.url
    hidden = page.evaluate("[...document.querySelectorAll('.scroll')].map((b) => b.scrollWidth - b.clientWidth)")
    assert all(h <= 0 for h in hidden), f"{page.url}: columns hidden behind a sideways scroll: {hidden} px"


def test_charts_day_by_day_and_compare_with_their_data(province, browser_page):
    """The overview's four charts hold the synced figures (whole-number ticks for counts), the
    day-by-day page's row is the day's sums, the center page keeps now apart from the range, the
    compare page lists the services by name, and no page logs an error or needs a sideways scroll
    at 1366 px."""
    base, desk = province
    errors = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.on("pageerror", lambda e: errors.append(str(e)))
    page = overview_at(province, browser_page, 1366, 768)
    desk.issue("B")
    expect(page.locator("#centers tfoot tr.total td.issued")).to_have_text("2", timeout=3000)
    for chart in ("centers-issued", "centers-p90", "days-issued", "days-wait"):
        expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
    page.wait_for_function("Charts.made['chart-days-issued'].chart.data[1][0] === 2")
    assert page.evaluate("Charts.made['chart-centers-issued'].chart.data[1]") == [2]
    ticks = page.evaluate("Charts.made['chart-days-issued'].chart.axes[1]._splits")
    assert ticks and all(float(t).is_integer() for t in ticks), ticks  # never 1,2 tickets
    assert page.evaluate("Charts.made['chart-days-issued'].chart.series[1].label") == "Số phát"
    fits(page)

    page.click("#see-days")
    expect(page.locator("h1")).to_contain_text("Theo ngày")
    expect(page.locator("#days tbody tr")).to_have_count(1)  # today alone: the default range
    expect(page.locator("#days tbody tr td.issued")).to_have_text("2")
    expect(page.locator("#days tfoot tr.total td.issued")).to_have_text("2")
    expect(page.locator("#chart-days-wait canvas")).to_have_count(1)
    fits(page)

    page.goto(base + "/centers/test")
    expect(page.locator("#live-queue tbody tr")).to_have_count(3)  # now, by service, apart from the range
    expect(page.locator("#live-queue tbody tr").first).to_contain_text("A · Chứng thực")
    assert "center=test" in page.get_attribute("#see-days", "href")
    fits(page)

    page.goto(base + "/compare")
    options = page.locator("select[name=service] option").all_text_contents()
    assert options == ["Hộ tịch (khai sinh, kết hôn, khai tử) (1 trung tâm)",
                       "Chứng thực (sao y, chữ ký, hợp đồng) (1 trung tâm)"]  # the fields it has, by name  # fmt: skip
    expect(page.locator("#chart-compare-p90 canvas")).to_have_count(1)
    page.select_option("select[name=service]", "ho_tich")  # a choice shows at once
    expect(page.locator("#compare tbody td:nth-child(3)")).to_have_text("1")
    assert page.locator(".mark").first.evaluate(CONTRAST) >= 4.5  # the breaches' red, on its background
    fits(page)

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/days", "/compare", "/centers/test"):
        page.goto(base + path)
        expect(page.locator("canvas").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
    assert errors == []
