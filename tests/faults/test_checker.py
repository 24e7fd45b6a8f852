"""The checker itself: each kind of damage it must see is made on purpose in a real journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from faults.checker import check_presses
from gateway.config import load_center
from gateway.dispatch import IssueTicket
from gateway.dispatcher import Dispatcher

CONFIG = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"
START = 1795400000.0  # a Monday morning in Hanoi


def journal_with(tmp_path, keys: list[str]) -> tuple[Path, dict[str, dict]]:
    path = tmp_path / "journal.db"
    d = Dispatcher.open(load_center(CONFIG), path)
    acked = {}
    for i, key in enumerate(keys):
        decision = d.handle(IssueTicket("A", key=key), START + i)
        acked[key] = {"id": key, "ok": True, "ticket": decision.events[-1].ticket}
    d.close()
    return path, acked


def test_a_clean_run_scores_zero(tmp_path):
    path, acked = journal_with(tmp_path, ["k:1:1", "k:1:2"])
    assert check_presses("x", {"k:1:1", "k:1:2"}, acked, path).clean


def test_lost_duplicated_and_unexpected_are_each_counted(tmp_path):
    path, acked = journal_with(tmp_path, ["k:1:1", "k:1:2", "k:1:3"])
    with sqlite3.connect(path) as db:  # the same press journaled twice, under a new number
        seq, cmd, day, at, data = db.execute(
            "SELECT seq, cmd, day, at, data FROM events WHERE key = 'k:1:2' AND type = 'TicketIssued'"
        ).fetchone()
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?, 'TicketIssued', 'k:1:2', ?)",
                   (seq + 100, cmd + 100, day, at, data.replace("A002", "A004")))  # fmt: skip
    acked["k:1:1"] = {**acked["k:1:1"], "ticket": "A077"}  # an ack the journal does not back
    score = check_presses("x", {"k:1:1", "k:1:2", "k:1:4"}, acked, path)  # k:1:4 never got a ticket
    assert (score.lost, score.duplicated, score.unexpected) == (1, 1, 2), score  # k:1:3 had no press
    assert score.integrity == "ok" and not score.clean


def test_a_number_skipped_in_a_day_is_unexpected(tmp_path):
    path, acked = journal_with(tmp_path, ["k:1:1", "k:1:2", "k:1:3"])
    with sqlite3.connect(path) as db:  # A002 rolled back, as a torn write would leave it
        db.execute("DELETE FROM events WHERE key = 'k:1:2'")
    score = check_presses("x", {"k:1:1", "k:1:3"}, {k: a for k, a in acked.items() if k != "k:1:2"}, path)
    assert (score.lost, score.duplicated, score.unexpected) == (0, 0, 1), score
    assert "numbers skipped" in score.notes[0]
