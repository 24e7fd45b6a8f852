"""`make demo`: the whole system on this machine, until Ctrl-C.

One ward, Phú Định, with its main center (gateway/centers/demo.toml: 6 services, 8 counters)
and a satellite reception point (demo-satellite.toml: 4 counters). Each site has its own
Mosquitto with the generated accounts and ACL, its own gateway process, and every kiosk,
counter and hall board running the real firmware on the MicroPython unix port with simulated
hardware (tech/hostboard.py). Citizens arrive at the day's realistic rate with the morning peak
and priority citizens, and staff work the counters' keypads (rig/people.py, driving
gateway/simulation.py's day through the boards). Both gateways sync to the central server,
which runs here too. The simulated day is the next working day after today (tomorrow, or the
Monday after a Friday), played `--speed` times faster than real time; each printed ticket is
saved as a picture and each voice call as a WAV file (voice/<center>/0001-A001-3.wav: the
call's number, the ticket, the counter).
"""

from __future__ import annotations

import argparse
import logging
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.clock import ScaledClock
from gateway.config import DEMO_CENTER, PRINTERS, CenterConfig, load_center
from gateway.simulation import Profile, simulate_day
from gateway.ticket import BIG_NUMBER, printed_png
from tech.hostboard import HostBoard

from .broker import RIG_USER, Broker, free_port
from .gateway import start_gateway
from .people import Acks, BoardDesk
from .province import Province

ROOT = Path(__file__).resolve().parent.parent
SATELLITE = DEMO_CENTER.with_name("demo-satellite.toml")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CUT = b"\x1dVB\x00"  # the printer's cut: the end of each ticket


class Stopped(Exception):
    """Ctrl-C: the simulated people stop where they are."""


PROVINCE, COMMUNE = "Thành phố Hồ Chí Minh", 27427  # Phường Phú Định and its province, since July 2025
VISITOR_COUNTER = 2  # the main center's counter 2 (A, then B) doubles counter 1: left to a visitor's console
VISITOR = ("phu-dinh", VISITOR_COUNTER)


@dataclass
class Site:
    config: CenterConfig
    folder: Path
    citizens: int
    broker: Broker | None = None
    gateway: object = None
    http_port: int = 0
    boards: dict[str, HostBoard] = field(default_factory=dict)
    desk: BoardDesk | None = None
    tickets: int = 0  # pictures saved
    late_s: float = 0.0  # how far behind its simulated clock the people ran, at most (real seconds)
    crashed: str | None = None  # why its simulated people stopped before the day was over

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def main(argv: list[str] | None = None, then: Callable[[list[Site], Province, str, date], int] | None = None) -> int:
    """Run the demo; with `then`, call it once the day reaches --until, while the simulated people
    go on (so the pages show a day in progress, not one stopped with people left waiting), and end
    when it returns: `make screens` photographs the pages there."""
    args = parse(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request of the server's
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    day = next_working_day(load_center(DEMO_CENTER).open_days)
    start = datetime.combine(day, day_time(7, 25), ZONE).timestamp()
    clock = ScaledClock(start, args.speed, time.time() + 8)  # a few seconds to power everything on
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sites = [Site(load_center(DEMO_CENTER), out / "phu-dinh", args.citizens),
             Site(load_center(SATELLITE), out / "phu-dinh-2", args.satellite_citizens)]  # fmt: skip
    server, password = start_server(out, sites, clock)
    try:
        for site in sites:
            start_site(site, server, clock, args.sync_interval)
        announce(sites, server, password, day, args.speed, out)
        until = datetime.combine(day, day_time.fromisoformat(args.until), ZONE).timestamp() if args.until else None
        people_until = None if then is not None else until
        threads = [threading.Thread(target=play, args=(site, day, clock, stop, people_until, args.seed + i),
                                    daemon=True) for i, site in enumerate(sites)]  # fmt: skip
        threads.append(threading.Thread(target=save_tickets, args=(sites, out / "tickets", stop), daemon=True))
        for t in threads:
            t.start()
        if then is not None:
            while time.time() < clock.wall(until) and all(t.is_alive() for t in threads) and not stop.is_set():
                stop.wait(0.5)
            crashed = [f"{s.config.id}: {s.crashed}" for s in sites if s.crashed]
            code = 1 if crashed or stop.is_set() else then(sites, server, password, day)
            stop.set()
            return code
        for t in threads[:-1]:
            while t.is_alive() and not stop.is_set():
                t.join(0.5)
        failed = [f"{s.config.id}: {s.crashed}" for s in sites if s.crashed]
        if not stop.is_set():
            if not settle(sites, server, day, deadline_s=3 * args.sync_interval + 15):
                failed.append(
                    "số đã phát, vé đã in và số máy chủ nhận không khớp (issued, printed and on the server differ)"
                )
            summary(sites, server, day, args.until)
            for reason in failed:
                print(f"LỖI: {reason}", file=sys.stderr, flush=True)
            if failed:
                stop.set()
                return 1
            if args.until is None:
                print("Hệ thống vẫn chạy; nhấn Ctrl-C để dừng. (still running; Ctrl-C to stop)", flush=True)
                stop.wait()
        stop.set()
        time.sleep(1.0)  # the last tickets' pictures
        return 0
    finally:
        shut_down(sites, server)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--speed", type=float, default=30.0, help="simulated seconds per real second (default 30)")
    p.add_argument("--citizens", type=int, default=300, help="citizens at the main center (default 300)")
    p.add_argument("--satellite-citizens", type=int, default=180, help="at the satellite point (default 180)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--until", default=None, help="stop when the simulated day reaches HH:MM (default: run on)")
    p.add_argument("--sync-interval", type=float, default=5.0, help="seconds between a gateway's pushes")
    p.add_argument("--out", type=Path, default=ROOT / "demo-run", help="where everything is kept (default demo-run/)")
    return p.parse_args(argv)


def next_working_day(open_days: tuple[int, ...]) -> date:
    """The simulated day is after today: its clock runs ahead of the boards' real one, so the
    gateway's commands (which carry an expiry) are never stale to them. It is a day the center
    opens (`open_days`, ISO weekdays): on a Sunday every board's alert and a stall would be off."""
    day = datetime.now(ZONE).date() + timedelta(days=1)
    while day.isoweekday() not in open_days:
        day += timedelta(days=1)
    return day


def start_server(out: Path, sites: list[Site], clock: ScaledClock) -> tuple[Province, str]:
    """The central server with both sites (the second a satellite of the first) and the province's user,
    on the simulated day's clock (it bounds the days and times the gateways send)."""
    from server import accounts

    satellites = {site.config.id: site.config.name for site in sites[1:]}
    province = Province(f"sqlite:///{out / 'server.db'}", [site.config for site in sites], satellites, clock,
                        PROVINCE, COMMUNE)  # fmt: skip
    for site in sites:
        site.folder.mkdir(parents=True)
        (site.folder / "sync-token").write_text(province.tokens[site.config.id])
    password = secrets.token_urlsafe(9)
    with province.engine.begin() as conn:
        accounts.add_user(conn, "demo", password, "province", province=PROVINCE)
    return province.start(), password


def start_site(site: Site, server: Province, clock: ScaledClock, sync_interval: float) -> None:
    site.broker = Broker(site.config, site.folder / "broker")
    site.http_port = free_port()
    config_file = site.folder / "center.toml"
    source = DEMO_CENTER if site.config.id == "phu-dinh" else SATELLITE
    # The tickets' QR codes lead to the province's public ticket page, which a phone reaches from
    # anywhere (on a LAN address it could not); the demo's server is on this machine.
    public = f"{server.base}/c/{site.config.id}"
    text = source.read_text(encoding="utf-8")
    config_file.write_text(text.replace("[center]\n", f'[center]\npublic_url = "{public}"\n', 1), encoding="utf-8")
    sim = ["--sim-start", datetime.fromtimestamp(clock.start, ZONE).strftime("%Y-%m-%dT%H:%M:%S%z"),
           "--sim-factor", str(clock.factor), "--sim-anchor", str(clock.anchor),
           "--sync-url", server.url,
           "--sync-token-file", str(site.folder / "sync-token"), "--sync-interval", str(sync_interval)]  # fmt: skip
    site.gateway = start_gateway(config_file, site.broker.port, site.broker.files.secrets, site.folder / "journal.db",
                                 site.folder / "gateway.log", f"127.0.0.1:{site.http_port}", sim,
                                 audio=f"files:{voice_folder(site)}")  # fmt: skip
    for d in site.config.devices:
        board = HostBoard(site.folder / "boards" / d.id, d.role, d.id, site.config.id,
                          ("127.0.0.1", site.broker.tls_port), site.broker.password(d.id), {"tele_s": 10},
                          ca=site.broker.files.ca)  # fmt: skip
        if d.role == "kiosk":
            board.paper("ok")  # a printer that answers its paper sensor, as a real one does
        site.boards[d.id] = board.start()
    acks = Acks(site.config, site.broker.port, site.broker.password(RIG_USER))
    site.desk = BoardDesk(site.config, site.boards, acks)


def voice_folder(site: Site) -> Path:
    """Where a site's gateway writes its calls: <out>/voice/<center>/."""
    return site.folder.parent / "voice" / site.config.id


def announce(sites: list[Site], server: Province, password: str, day: date, speed: float, out: Path) -> None:
    main, hours = sites[0], 9.5 * 3600 / speed / 60
    lines = [
        f"Hàng Chờ — bản chạy thử toàn hệ thống, ngày mô phỏng {day:%d/%m/%Y}, nhanh gấp {speed:g} lần "
        f"(một ngày làm việc ≈ {hours:.0f} phút)",
        f"  Bảng điều khiển tỉnh (province dashboard): http://127.0.0.1:{server.port}/?from={day} "
        f"— đăng nhập demo / {password}",
    ]
    for site in sites:
        n = sum(d.role == "counter" for d in site.config.devices)
        lines.append(f"  {site.config.name}: màn hình phòng chờ (hall) {site.url}/hall · thiết bị {site.url}/devices "
                     f"· {len(site.boards)} bo mạch, {n} quầy")  # fmt: skip
    visitor = next(c for c in main.config.counters if c.number == VISITOR_COUNTER)
    lines += [f"  Bàn làm việc quầy {visitor.number}, dành cho bạn: không ai mô phỏng làm việc ở quầy này "
              f"(counter console, yours to work): {main.url}/console — mã PIN {visitor.pin}",
              f"  Ghi âm giọng gọi số (voice recording): {main.url}/voice — mã PIN quản trị {main.config.admin_pin}",
              f"  Vé đã in (printed tickets, PNG): {out / 'tickets'}",
              f"  Lượt gọi loa (voice calls, WAV): {out / 'voice'}/<trung tâm>/, vd. 0001-A001-3.wav",
              "Nhấn Ctrl-C để dừng. (Ctrl-C stops)"]  # fmt: skip
    print("\n".join(lines), flush=True)


def play(site: Site, day: date, clock: ScaledClock, stop: threading.Event, until: float | None, seed: int) -> None:
    def pace(simulated: float) -> None:
        while not stop.is_set():
            left = clock.wall(simulated) - time.time()
            if until is not None and simulated > until:
                raise Stopped
            if left <= 0:
                site.late_s = max(site.late_s, -left)
                return
            stop.wait(min(left, 0.5))
        raise Stopped

    try:
        staffed = frozenset(c.number for c in site.config.counters if (site.config.id, c.number) != VISITOR)
        simulate_day(site.config, site.desk.handle, day, Profile(citizens=site.citizens, staffed=staffed), seed, pace)
    except Stopped:
        pass
    except Exception as e:  # the site would freeze with people waiting: say so, and the demo fails
        site.crashed = f"{type(e).__name__}: {e}"
        print(f"LỖI [{site.config.id}]: người mô phỏng đã dừng (the simulated people stopped): {site.crashed}",
              file=sys.stderr, flush=True)  # fmt: skip
        raise


def save_tickets(sites: list[Site], folder: Path, stop: threading.Event) -> None:
    """Each ticket a kiosk printed (its printer's bytes, up to the cut) as a PNG."""
    seen: dict[str, int] = {}
    while not stop.wait(0.5):
        for site in sites:
            for d in site.config.devices:
                if d.role != "kiosk":
                    continue
                data = site.boards[d.id].printed()
                start = seen.get(f"{site.config.id}/{d.id}", 0)
                while (cut := data.find(CUT, start)) >= 0:
                    ticket = data[start : cut + len(CUT)]
                    number = BIG_NUMBER.search(ticket)
                    name = number.group(1).decode() if number else f"ticket-{site.tickets + 1}"
                    path = folder / site.config.id / f"{name}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(printed_png(ticket, PRINTERS[d.printer]))
                    site.tickets += 1
                    print(f"  [{site.config.id}] in vé {name} → {path}", flush=True)
                    start = cut + len(CUT)
                seen[f"{site.config.id}/{d.id}"] = start


def settle(sites: list[Site], server: Province, day: date, deadline_s: float) -> bool:
    """Wait for what is in flight when the people stop: the last prints (and their pictures)
    and the gateways' last pushes, until every number issued is printed and on the server or
    the deadline passes (the summary then shows what is missing)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        on_server = server.issued(day.isoformat())
        if all(s.tickets == s.desk.issued == on_server.get(s.config.id, 0) for s in sites):
            return True
        time.sleep(0.5)
    return False


def summary(sites: list[Site], server: Province, day: date, until: str | None) -> None:
    if until:
        print(f"Đã đến {until} ngày {day:%d/%m/%Y} (the simulated day reached {until}):", flush=True)
    else:
        print(f"Hết ngày làm việc {day:%d/%m/%Y} (the simulated day is over):", flush=True)
    on_server = server.issued(day.isoformat())
    for site in sites:
        print(f"  {site.config.name}: {site.desk.issued} số đã phát, {site.tickets} vé đã in, "
              f"máy chủ tỉnh nhận {on_server.get(site.config.id, 0)} số; người mô phỏng trễ tối đa "
              f"{site.late_s:.1f} s (simulated people at most {site.late_s:.1f} s late)", flush=True)  # fmt: skip
    print(f"  Số liệu tổng hợp: http://127.0.0.1:{server.port}/?from={day}", flush=True)


def shut_down(sites: list[Site], server: Province) -> None:
    for site in sites:
        if site.desk is not None:
            site.desk.acks.close()
        for board in site.boards.values():
            board.stop()
        if site.gateway is not None and site.gateway.poll() is None:
            site.gateway.terminate()
            site.gateway.wait(timeout=15)
        if site.broker is not None:
            site.broker.stop()
    server.close()


if __name__ == "__main__":
    sys.exit(main())
