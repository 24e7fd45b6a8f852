"""kill -9 of a process writing the journal, at random moments, then replay.

Each round starts the writer (journal_writer.py), lets it run for a random
time, kills it with SIGKILL and checks: the journal passes SQLite's integrity
check; every command the writer reported durable is in the journal; the state
replayed up to the last reported event equals the state the writer reported
there; and when the writer is started again (a restarted device resends every
press), no press becomes a second ticket.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.config import load_center
from gateway.dispatcher import replay
from gateway.journal import Journal

HERE = Path(__file__).parent
WRITER = HERE / "journal_writer.py"
CONFIG = HERE.parent / "data" / "small_center.toml"
PRESSES = 400
ROUNDS = 12


def start_writer(journal: Path, start: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(journal), str(CONFIG), str(PRESSES), str(start)],
        stdout=subprocess.PIPE,
        text=True,
    )


def kill_after(proc: subprocess.Popen, seconds: float) -> list[str]:
    """Let the writer run, SIGKILL it, return the lines it managed to print."""
    early = []
    for line in proc.stdout:
        if line.strip() == "ready":
            break
        early.append(line)
    time.sleep(seconds)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = early + proc.stdout.read().splitlines()
    return [line.split() for line in lines if line and line[0].isdigit()]


def load_writer():
    spec = importlib.util.spec_from_file_location("journal_writer", WRITER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kill_9_at_random_moments_loses_nothing_and_repeats_nothing(tmp_path):
    digest = load_writer().digest
    config = load_center(CONFIG)
    journal_path = tmp_path / "journal.db"
    rng = random.Random(20261122)
    start = datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
    acknowledged: set[str] = set()
    checked_rounds = 0
    for round_ in range(ROUNDS):
        lines = kill_after(start_writer(journal_path, start + round_ * 2000), rng.uniform(0.0, 0.4))
        with sqlite3.connect(journal_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        journal = Journal(journal_path)
        try:
            state = replay(config, journal)
            acknowledged |= {ticket for _, _, ticket in lines if ticket != "-"}
            assert acknowledged <= set(state.tickets), "a ticket reported durable is missing after the crash"
            if lines:
                seq, reported, _ = lines[-1]
                assert journal.last_seq() >= int(seq)
                assert digest(replay(config, journal, upto_seq=int(seq))) == reported
                checked_rounds += 1
        finally:
            journal.close()
    assert checked_rounds >= ROUNDS // 2, "too few rounds were killed while writing"

    finish = start_writer(journal_path, start + ROUNDS * 2000)
    out, _ = finish.communicate(timeout=120)
    assert finish.returncode == 0 and out.strip().endswith("done")
    journal = Journal(journal_path)
    try:
        state = replay(config, journal)
    finally:
        journal.close()
    numbers = sorted(t.number for t in state.tickets.values())
    assert numbers == list(range(1, PRESSES + 1)), "each press must become exactly one ticket"
    assert sorted(state.seen) == sorted({f"press-{i}" for i in range(PRESSES)})
