"""The gateway's clock jumping across the business-day boundary, as an NTP correction does on a
Raspberry Pi that has no battery-backed clock: forward past local midnight, back across it, and
forward again, while citizens press. Each press must still be one ticket; numbers restart once
per day and never repeat; a press timed "yesterday" after the new day opened stays in the new
day (docs/dispatch.md)."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from faults.checker import check_presses, rounds

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class JumpingClock:
    """Runs at real speed from wherever it was last set."""

    def __init__(self):
        self.set(time.time())

    def set(self, at: float) -> None:
        self.base, self.t0 = at, time.monotonic()

    def __call__(self) -> float:
        return self.base + time.monotonic() - self.t0


def press_all(kiosk, n: int) -> None:
    for i in range(n):
        kiosk.ack_for(kiosk.press(button=i % 2), timeout=10)


def test_clock_jumps_across_midnight(gateway, kiosk_with_outbox, tmp_path, scored):
    clock, kiosk = JumpingClock(), kiosk_with_outbox("kiosk-1")
    gateway.clock = clock
    n = rounds(full=10, quick=2)
    for r in range(n):
        midnight = datetime(2026, 11, 24, tzinfo=HCM) + timedelta(days=r)
        for offset_s in (-3, 30, -10, 60):  # before, jumped past, set back across, forward again
            clock.set((midnight + timedelta(seconds=offset_s)).timestamp())
            press_all(kiosk, 3)
    kiosk.wait_all_acked(timeout=10)
    journal = tmp_path / "journal.db"
    score = check_presses("clock jumps across midnight (NTP)", kiosk.sent, kiosk.acked, journal)
    score.rounds = n
    days = numbers_per_day(journal)
    # 3 presses before the first midnight; then each day gets 9 after its midnight and 3 before
    # the next one; the last day only its 9. (The checker sees a number skipped or repeated.)
    per_day = {day(r): 3 if r == 0 else 9 if r == n else 12 for r in range(n + 1)}
    counted = {d: sum(len(v) for (dd, _), v in days.items() if dd == d) for d in {d for d, _ in days}}
    firsts = {k: min(v) for k, v in days.items() if min(v) != 1}
    if counted != per_day or firsts:
        score.unexpected += 1
        score.notes.append(f"tickets per day {counted}, expected {per_day}; not starting at 1: {firsts}")
    scored(score)


def day(r: int) -> str:
    return (datetime(2026, 11, 23) + timedelta(days=r)).date().isoformat()


def numbers_per_day(journal) -> dict[tuple[str, str], list[int]]:
    import json

    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT day, data FROM events WHERE type = 'TicketIssued' ORDER BY seq").fetchall()
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for day, data in rows:
        t = json.loads(data)
        found[(day, t["service"])].append(t["number"])
    return dict(found)
