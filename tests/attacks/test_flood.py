"""One board's password must not let it stop a center: a flood of 10,000 messages a second from
one kiosk account (new-id presses, junk, `info`, resent ids) against the real gateway process and
Mosquitto, while other kiosks press beside it.

The flooder is not the project's code: MQTT packets built from the specification and written to
a socket (rig/flood.py). The test checks the flood was real (what the flooder wrote and what the
broker acknowledged, both at 10,000 a second or more), then that it held: the other kiosks' presses
all answered, and in time (below), nothing issued to the flooder beyond its budget, the raster
blocks sent to it once, the gateway's memory under 100 MB, the log coalesced, and Mosquitto never
dropping the gateway's messages.

In time, HANGCHO_FAULTS=full (`make faults`; `make bench` measures the same, flood_press_p99_ms):
a 10 s flood, seven kiosks pressing every 1.2 s, the presses' p99 (of 59, the slowest) ≤ 50 ms
above the disk's floor. A press is answered only once its journal write is on disk, and this
machine's disk is shared: its own fsync tail (probed beside the flood, on the journal's folder, from
this process, so the probe's tail also holds this process's own waits for a CPU) has reached 300 ms
with no flood at all. So the bound is 50 ms above that floor; on a quiet machine, the issue's 50 ms.

In time, `make test` (quick): a 5 s flood, nineteen kiosks pressing every 1.2 s (80 presses during
the flood, 48 in the 3 s before it), and the presses' **median** ≤ 50 ms above the floor of the
same run: the slower of the fsync probe's p99 during the flood and the p99 of the same kiosks'
presses before it. Not the p99, because a quick run has none: of the 11 presses a 2 s flood gave,
the "p99" was the slowest one, and on a shared 2-core machine the slowest are the scheduler's. The
flood itself keeps about a core busy (gateway, broker, flooder), so while other work runs some
presses wait hundreds of ms for a CPU, more than any floor measured without the flood (two busy
loops beside the test: p99 240–640 ms, median 24–69 ms). The failure this guards against moves
every press, not a few: a flood that holds the others' presses behind it (the gateway with one
queue for all boards) makes each press wait longer the longer the flood lasts: over the quick
run's 5 s a median of 0.9–1.3 s (p90 1.7–2.1 s), 5 s under load. The issue's p99 is the full run's.
A machine so loaded that the gateway cannot read 10,000 messages a second fails this too, and
rightly: Mosquitto then holds every board's presses, in order, behind the flood it has queued (two
busy loops and two other test suites beside it did that in 2 runs of 8: medians 0.9 s and 3.7 s).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from faults.checker import FULL, rounds
from gateway.config import BudgetRules, center_from_dict
from gateway.ticket import static_blocks
from rig.flood import flood_center, percentile, run_flood
from tests.conftest import SMALL_CENTER_FILE

ATTACK = 10_000  # messages a second, the attack; the flooder aims a little above, so that it surely reaches it
RATE = 10_500
SECONDS = rounds(full=10, quick=5)
KIOSKS = rounds(full=8, quick=20)  # kiosk-2 floods; the others press, each every EVERY seconds (within its budget)
EVERY = 1.2
BEFORE_S = 3.0  # the same kiosks pressing without the flood first: the floor of the quick run's bound
P99_MS = 50.0
RSS_MB = 100.0


@pytest.fixture
def flood_file(tmp_path) -> Path:
    path = tmp_path / "flood-center.toml"
    path.write_text(flood_center(SMALL_CENTER_FILE.read_text(encoding="utf-8"), KIOSKS), encoding="utf-8")
    return path


@pytest.fixture
def center(flood_file):
    import tomllib

    return center_from_dict(tomllib.loads(flood_file.read_text(encoding="utf-8")), source=str(flood_file))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _issued(journal: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT json_extract(data, '$.source'), count(*) FROM events WHERE type = 'TicketIssued' GROUP BY 1"
        ).fetchall()
    return dict(rows)


def test_a_flood_from_one_board_leaves_the_others_answered(center, flood_file, broker, gateway_process):
    import time

    gateway_process.config = flood_file
    started = time.time()
    gateway_process.start()
    passwords = {d.id: broker.password(d.id) for d in center.devices if d.role == "kiosk"}
    disk = gateway_process.journal.parent
    result = run_flood(broker.port, center.id, passwords, "kiosk-2", RATE, SECONDS, EVERY, BEFORE_S, disk=disk)
    ended = time.time()
    rss = _peak_rss_mb(gateway_process.proc.pid)
    gateway_process.stop()

    # The flood was real: written and accepted by the broker at the attack's rate.
    assert result.sent == RATE * SECONDS
    assert result.sent_per_s >= ATTACK, f"the flooder wrote only {result.sent_per_s:.0f}/s"
    assert result.accepted == result.sent, "the broker acknowledged every publish"
    assert result.accepted_per_s >= ATTACK, f"the broker accepted only {result.accepted_per_s:.0f}/s"

    # The other kiosks: every press answered, and in time (the module's docstring: p99 full, median quick).
    during, before = result.during_ms, result.before_ms
    assert result.unanswered == 0, f"{result.unanswered} presses of the other kiosks never answered"
    assert len(during) >= SECONDS * (KIOSKS - 1) / EVERY - 1
    p50, p90, p99 = (percentile(during, q) for q in (0.5, 0.9, 0.99))
    fsync_p99, before_p99 = percentile(result.fsync_ms, 0.99), percentile(before, 0.99)
    if FULL:
        checked, value, bound = "p99", p99, P99_MS + fsync_p99
    else:
        checked, value, bound = "median", p50, P99_MS + max(fsync_p99, before_p99)
    report = (f"flood {result.sent_per_s:.0f}/s sent, {result.accepted_per_s:.0f}/s accepted; others' {len(during)} "
              f"presses p50 {p50:.1f} ms p90 {p90:.1f} ms p99 {p99:.1f} ms (without the flood, {len(before)} presses: "
              f"p50 {percentile(before, 0.5):.1f} ms p99 {before_p99:.1f} ms); disk fsync p99 {fsync_p99:.1f} ms "
              f"meanwhile; {checked} {value:.1f} ms, bound {bound:.1f} ms; gateway peak RSS {rss:.1f} MB")  # fmt: skip
    print(report)
    assert value <= bound, report
    assert result.others_refused == [], "a press within its budget is never refused"

    # Nothing issued to the flooder beyond its budget: a burst, a drained outbox, the rate.
    rules = BudgetRules()
    issued = _issued(gateway_process.journal)
    allowed = rules.press_burst + rules.drain + rules.press_per_s * (ended - started) + 1
    assert 0 < issued["kiosk-2"] <= allowed, (issued, allowed)
    print(f"flooder: {issued['kiosk-2']} tickets (allowed {allowed:.0f}), received {result.received}")
    assert sum(n for d, n in issued.items() if d != "kiosk-2") == len(result.before_ms) + len(during)

    # `info` 2,500 times a second: the raster blocks went to the flooder once.
    blocks = sum(len(r.to_messages(n, "")) for n, r in static_blocks(center, "58mm").items()) + 1  # then blocks_done
    assert result.received.get("cmd/config", 0) <= blocks, result.received

    assert rss < RSS_MB, report

    # The log: a few lines per reason, not one per message (and one per board: the pressers never say
    # they are online, so each gets its offline alert); Mosquitto dropped nothing of ours.
    log = gateway_process.log.read_text(encoding="utf-8").splitlines()
    about_flooder = [line for line in log if re.search(r"\bkiosk-2\b", line)]  # not kiosk-20
    assert 0 < len(about_flooder) <= 10, about_flooder
    assert len(log) < 30 + len(center.devices), log[:50]
    print(f"gateway log: {len(log)} lines, {len(about_flooder)} about the flooder")
    broker_log = broker.log.read_text(encoding="utf-8", errors="replace")
    assert "dropped" not in broker_log.lower(), [line for line in broker_log.splitlines() if "dropped" in line][:3]
