"""`make screens`: photographs of every page people use, from a real demo morning, into docs/screens/.

Runs the demo (rig/demo.py: both sites, every board on the real firmware, the province server)
until 09:00 of its simulated day, then, with everything still up and its people still at
work, visits each page in headless Chromium at the sizes people use (a hall TV
at 1920×1080, a clerk's PC, a phone at 390 px, a leader's 1366-px laptop), makes one call from
the visitor's console so the hall is caught mid-flash, and copies a printed ticket. Each page is
also audited with axe-core (rig/a11y.py); any serious or critical violation is printed and the
command exits 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from . import demo
from .a11y import report, violations

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "docs" / "screens"
DESKTOP, LAPTOP, PHONE = (1920, 1080), (1366, 768), (390, 844)
FLASH_AT_MS = 250  # the first palette of the new-call flash (gateway/static/hall.css)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make screens", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=SCREENS, help=f"where the pictures go (default {SCREENS})")
    p.add_argument("--speed", type=float, default=120.0, help="the demo's speed (default 120)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hangcho-screens-") as work:
        run = ["--speed", str(args.speed), "--citizens", "200", "--satellite-citizens", "90", "--until", "09:00",
               "--out", str(Path(work) / "demo")]  # fmt: skip
        return demo.main(run, then=lambda *up: shoot(args.out, Path(work) / "demo", *up))


def shoot(out: Path, demo_out: Path, sites, server, password: str, day: date) -> int:
    main_site, found = sites[0], {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=["--lang=vi-VN"])  # date fields as dd/mm/yyyy  # fmt: skip

        def page_at(size):
            # as a Vietnamese user's browser: dates read dd/mm/yyyy, times in Vietnam's zone
            return browser.new_page(viewport={"width": size[0], "height": size[1]}, locale="vi-VN",
                                    timezone_id="Asia/Ho_Chi_Minh")  # fmt: skip

        def snap(page, name: str, full: bool = True) -> None:
            page.screenshot(path=str(out / f"{name}.png"), full_page=full)
            found[name] = violations(page)
            print(f"  {name}.png: {len(found[name])} axe violations (serious/critical)", flush=True)

        hall, console = page_at(DESKTOP), page_at(DESKTOP)
        hall.goto(main_site.url + "/hall")
        expect(hall.locator("#link")).to_have_text("Đã kết nối", timeout=10000)
        snap(hall, "hall", full=False)
        sign_in_visitor(console, main_site)
        console.click("#key-open")
        call_one(console, main_site.boards["kiosk-1"])
        expect(hall.locator("#now")).to_have_class("new", timeout=5000)
        hall.evaluate(
            f"() => {{ for (const a of document.getAnimations()) {{ a.pause(); a.currentTime = {FLASH_AT_MS}; }} }}"
        )
        hall.screenshot(path=str(out / "hall-new-call.png"))
        found["hall-new-call"] = violations(hall, FLASH_AT_MS)
        snap(console, "console")
        ticket = console.locator("#ticket").inner_text()
        phone = page_at(PHONE)
        phone.context.add_cookies(console.context.cookies())
        phone.goto(main_site.url + "/console")
        expect(phone.locator("#ticket")).to_have_text(ticket)
        snap(phone, "console-phone")
        waiting = next(iter(waiting_tickets(server, main_site.config.id)), ticket)  # the longest way to go
        phone.goto(f"{main_site.url}/t/{day}/{waiting}")
        snap(phone, "ticket-status-phone")
        phone.goto(f"{server.base}/c/{main_site.config.id}/t/{day}/{waiting}")
        snap(phone, "public-ticket-phone")
        admin = page_at(DESKTOP)  # the recording page, behind the center admin's PIN
        admin.goto(main_site.url + "/voice")
        admin.fill("input[name=pin]", main_site.config.admin_pin)
        admin.click("button[type=submit]")
        expect(admin.locator("#summary")).to_be_visible()
        snap(admin, "voice-recording", full=False)
        fleet = page_at(DESKTOP)
        fleet.goto(main_site.url + "/devices")
        snap(fleet, "fleet")
        phone.goto(main_site.url + "/devices")
        snap(phone, "fleet-phone")
        leader = page_at(LAPTOP)
        log_in(leader, server.base, password)
        for path, name in ((f"/?from={day}&to={day}", "dashboard"), (f"/centers/{main_site.config.id}?from={day}",
                           "dashboard-center"), (f"/compare?from={day}&to={day}", "dashboard-compare"),
                          (f"/days?from={day}&to={day}", "dashboard-days"),
                          (f"/reports/monthly?month={day:%Y-%m}", "dashboard-monthly")):  # fmt: skip
            leader.goto(server.base + path)
            leader.wait_for_load_state("networkidle")
            snap(leader, name)
        phone.context.add_cookies(leader.context.cookies())
        phone.goto(f"{server.base}/?from={day}&to={day}")
        phone.wait_for_load_state("networkidle")
        snap(phone, "dashboard-phone")
        browser.close()
    copy_ticket(demo_out, out, main_site.config.id)
    bad = {name: v for name, v in found.items() if v}
    for name, v in bad.items():
        print(f"LỖI: {name}: axe-core\n{report(v)}", file=sys.stderr)
    print(f"{len(found) + 1} ảnh trong {out} (pictures)", flush=True)
    return 1 if bad else 0


def call_one(console, kiosk) -> None:
    """A citizen takes a number (A, which counter 2 serves first) and the visitor calls it; the
    simulated clerks may call it first, so again until the visitor's counter holds a number."""
    deadline = time.monotonic() + 90
    while console.locator("#ticket").inner_text() in ("—", ""):
        assert time.monotonic() < deadline, "the visitor's console never called a number"
        if console.locator("#key-next").is_enabled():
            console.click("#key-next")
        else:
            kiosk.press(0, hold_s=0.3)  # held long enough for a board busy on a loaded machine
        console.wait_for_timeout(1500)  # the page's own refresh (console.js, every 3 s) tells the outcome


def sign_in_visitor(page, site) -> None:
    visitor = next(c for c in site.config.counters if c.number == demo.VISITOR_COUNTER)
    page.goto(site.url + "/console")
    page.select_option("select[name=counter]", str(visitor.number))
    page.fill("input[name=pin]", visitor.pin)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text(str(visitor.number))


def waiting_tickets(server, center_id: str) -> list[str]:
    """The tickets waiting at a center in its last snapshot on the server, fewest ahead last."""
    from sqlalchemy import select

    from server.schema import snapshots

    with server.engine.connect() as conn:
        body = conn.execute(select(snapshots.c.body).where(snapshots.c.center_id == center_id)).scalar() or {}
    places = body.get("tickets", {})
    return sorted((t for t, p in places.items() if p.get("state") == "waiting"), key=lambda t: -places[t]["ahead"])


def log_in(page, base: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("h2").first).to_be_visible()


def copy_ticket(demo_out: Path, out: Path, center_id: str) -> None:
    """The first ticket the main center printed, as its printer drew it."""
    tickets = sorted((demo_out / "tickets" / center_id).glob("*.png"))
    if tickets:
        shutil.copyfile(tickets[0], out / "ticket.png")


if __name__ == "__main__":
    sys.exit(main())
