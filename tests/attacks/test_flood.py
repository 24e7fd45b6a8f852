"""One board's password must not let it stop a center: a flood of 10,000 messages a second from
one kiosk account (new-id presses, junk, `info`, resent ids) against the real gateway process and
Mosquitto, while seven other kiosks press beside it.

The flooder is not the project's code: MQTT packets built from the specification and written to
a socket (rig/flood.py). The test checks the flood was real (what the flooder wrote and what the
broker acknowledged, both at 10,000 a second or more), then that it held: the other kiosks' presses
answered with p99 ≤ 50 ms during the flood, nothing issued to the flooder beyond its budget, the
raster blocks sent to it once, the gateway's memory under 100 MB, the log coalesced, and Mosquitto
never dropping the gateway's messages. `make test` floods for 2 s; HANGCHO_FAULTS=full (`make
faults`) and `make bench` (flood_press_p99_ms) for the full 10 s.

A press is answered only once its journal write is on disk, and this machine's disk is shared:
its own fsync tail (measured beside the flood, on the journal's folder) has reached 300 ms with
no flood at all. So the bound is 50 ms above that floor; on a quiet disk it is the issue's 50 ms,
and the failure this guards against (one board's junk pushing a press to 5–20 s) is far beyond it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from faults.checker import rounds
from gateway.config import BudgetRules, center_from_dict
from gateway.ticket import static_blocks
from rig.flood import flood_center, percentile, run_flood
from tests.conftest import SMALL_CENTER_FILE

ATTACK = 10_000  # messages a second, the attack; the flooder aims a little above, so that it surely reaches it
RATE = 10_500
SECONDS = rounds(full=10, quick=2)
KIOSKS = 8  # kiosk-2 floods; the seven others press, each every EVERY seconds (within its budget)
EVERY = 1.2
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
    result = run_flood(
        broker.port, center.id, passwords, "kiosk-2", RATE, SECONDS, EVERY, disk=gateway_process.journal.parent
    )
    ended = time.time()
    rss = _peak_rss_mb(gateway_process.proc.pid)
    gateway_process.stop()

    # The flood was real: written and accepted by the broker at the attack's rate.
    assert result.sent == RATE * SECONDS
    assert result.sent_per_s >= ATTACK, f"the flooder wrote only {result.sent_per_s:.0f}/s"
    assert result.accepted == result.sent, "the broker acknowledged every publish"
    assert result.accepted_per_s >= ATTACK, f"the broker accepted only {result.accepted_per_s:.0f}/s"

    # The other kiosks: every press answered, p99 within the bound.
    during = result.during_ms
    assert result.unanswered == 0, f"{result.unanswered} presses of the other kiosks never answered"
    assert len(during) >= SECONDS * (KIOSKS - 1) / EVERY - 1
    p99, fsync_p99 = percentile(during, 0.99), percentile(result.fsync_ms, 0.99)
    report = (f"flood {result.sent_per_s:.0f}/s sent, {result.accepted_per_s:.0f}/s accepted; others' presses "
              f"p50 {percentile(during, 0.5):.1f} ms p99 {p99:.1f} ms (without the flood p99 "
              f"{percentile(result.before_ms, 0.99):.1f} ms); disk fsync p99 {fsync_p99:.1f} ms meanwhile; "
              f"gateway peak RSS {rss:.1f} MB")  # fmt: skip
    print(report)
    assert p99 <= P99_MS + fsync_p99, report
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

    # The log: a few lines per reason, not one per message; Mosquitto dropped nothing of ours.
    log = gateway_process.log.read_text(encoding="utf-8").splitlines()
    about_flooder = [line for line in log if "kiosk-2" in line]
    assert 0 < len(about_flooder) <= 10, about_flooder
    assert len(log) < 40, log[:50]
    print(f"gateway log: {len(log)} lines, {len(about_flooder)} about the flooder")
    broker_log = broker.log.read_text(encoding="utf-8", errors="replace")
    assert "dropped" not in broker_log.lower(), [line for line in broker_log.splitlines() if "dropped" in line][:3]
