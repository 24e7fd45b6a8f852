"""`make demo` and its entry point: a simulated day must keep running and adding up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gateway.config import DEMO_CENTER, load_center
from gateway.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "hangcho-gateway"


def totals(output: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.startswith("Tổng cộng"))
    return [int(x) for x in re.findall(r"\b\d+\b(?![.,]\d)", line)[:6]]


def test_make_demo_runs_the_whole_system(tmp_path):
    """Two sites of one ward, every board on the real firmware, their gateways and the central
    server: each number issued is printed (and saved as a picture) and reaches the server."""
    args = f"--speed 240 --citizens 40 --satellite-citizens 20 --until 08:30 --out {tmp_path / 'demo'}"
    run = subprocess.run(["make", "-s", "demo", f"DEMO_ARGS={args}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for url in ("/?from=", "/hall", "/devices", "/console", "/voice"):
        assert re.search(rf"http://127\.0\.0\.1:\d+{re.escape(url)}", out), url
    sites = re.findall(r": (\d+) số đã phát, (\d+) vé đã in, máy chủ tỉnh nhận (\d+) số", out)
    assert len(sites) == 2, out[-2000:]
    for issued, printed, on_server in sites:
        assert int(issued) > 0 and issued == printed == on_server, out[-2000:]
    dashboard = re.search(r"http://127\.0\.0\.1:(\d+)/\?from=", out).group(1)
    for site in ("phu-dinh", "phu-dinh-2"):  # the tickets' QR codes lead to the province's public page
        written = (tmp_path / "demo" / site / "center.toml").read_text(encoding="utf-8")
        assert f'public_url = "http://127.0.0.1:{dashboard}/c/{site}"' in written, written[:300]
    pictures = list((tmp_path / "demo" / "tickets").rglob("*.png"))
    assert len(pictures) == sum(int(s[1]) for s in sites)
    assert all(re.fullmatch(r"[A-F]\d{3}\.png", p.name) for p in pictures)  # named by the number printed
    assert f"{tmp_path / 'demo' / 'voice'}/" in out  # where the calls are, said at the start
    for center in ("phu-dinh", "phu-dinh-2"):
        calls = sorted(p.name for p in (tmp_path / "demo" / "voice" / center).glob("*.wav"))
        assert calls and all(re.fullmatch(r"\d{4}-[A-F]\d{3}-\d+\.wav", c) for c in calls), calls
        assert calls[0].startswith("0001-")


def test_demo_journal_replays_to_the_printed_day(tmp_path):
    journal = tmp_path / "day.db"
    args = [str(CLI), "demo", "--citizens", "80", "--seed", "11", "--journal", str(journal)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    tickets, served, *_ = totals(run.stdout)
    d = Dispatcher.open(load_center(DEMO_CENTER), journal)
    try:
        assert len(d.state.tickets) == tickets == 80
        assert sum(t.state == "done" for t in d.state.tickets.values()) == served
    finally:
        d.close()


def test_same_seed_same_day_other_seed_other_day():
    def day(seed: int) -> str:
        return subprocess.run(
            [str(CLI), "demo", "--citizens", "50", "--seed", str(seed)], capture_output=True, text=True, check=True
        ).stdout

    assert day(4) == day(4)
    assert day(4) != day(5)


def test_a_bad_config_is_a_clear_error(tmp_path):
    bad = tmp_path / "center.toml"
    bad.write_text('[center]\nid = "x"\n', encoding="utf-8")
    run = subprocess.run([str(CLI), "demo", "--config", str(bad)], capture_output=True, text=True)
    assert run.returncode != 0
    assert f"{bad}: center.name: " in run.stderr
    assert "Traceback" not in run.stderr
