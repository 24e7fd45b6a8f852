"""The hall TV's lowest text contrast over its new-call flash, in headless Chromium.

The gateway's real page and stream (gateway/web.py) in this process, fed views of the demo
center: the page loads, a priority call arrives, and every text is measured against what is
behind it at 241 moments of the 6-second flash (rig/contrast.py). Figure: hall_min_contrast_ratio
(WCAG AA asks ≥ 4.5). Run alone with `python -m bench.hall`.
"""

from __future__ import annotations

import shutil
import time

from gateway.config import DEMO_CENTER, load_center
from gateway.dispatch import CallNext, IssueTicket, OpenCounter, State, handle
from gateway.hub import ViewHub
from gateway.views import hall_view
from gateway.web import WebServer, create_app
from rig.contrast import lowest_contrast

MOMENTS_MS = [n * 25.0 for n in range(241)]


def figures() -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    config = load_center(DEMO_CENTER)
    state, now = State(config), time.time()
    for command in (OpenCounter(1), IssueTicket("A"), IssueTicket("A", config.priority_classes[0].code)):
        handle(state, command, now)  # decides and folds
    hub = ViewHub()
    hub.publish("hall", hall_view(state, []))
    server = WebServer(create_app(hub, center=config), "127.0.0.1", 0).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"http://127.0.0.1:{server.port}/hall")
            expect(page.locator("#link")).to_have_text("Đã kết nối", timeout=10_000)
            called = handle(state, CallNext(1), now).events
            hub.publish("hall", hall_view(state, [(called[-1].ticket, 1)]))
            expect(page.locator("#now")).to_have_class("new", timeout=5000)
            ratio, *_ = lowest_contrast(page, MOMENTS_MS)
            browser.close()
    finally:
        hub.close()
        server.stop()
    return {"hall_min_contrast_ratio": ratio}


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:32} {value:,.2f}")
