"""Scoring a fault run the way a Jepsen checker does: from what the clients did and what the
journal holds afterwards, count the presses lost, the ones that became two tickets, and the
tickets nobody asked for (or numbers skipped). All must be 0, and the journal must pass
SQLite's integrity check.

`sent` is every press event id a client published (a press that reached us); `acked` maps the
event ids the clients saw answered to their ack bodies. The journal is read after the gateway
has stopped.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

_NUMBERED = re.compile(r"(\D+)(\d+)")  # a ticket: its service's code, then its number
FULL = os.environ.get("HANGCHO_FAULTS") == "full"  # `make faults`: every round; `make test`: the quick ones


def rounds(full: int, quick: int) -> int:
    return full if FULL else quick


@dataclass
class Score:
    fault: str
    rounds: int = 0
    operations: int = 0  # presses (or payloads, for the fuzzers) the run made
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    integrity: str = "ok"
    notes: list[str] = field(default_factory=list)  # what each nonzero count was, for the failure message

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicated == self.unexpected == 0 and self.integrity == "ok"

    def add(self, other: Score) -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.unexpected += other.unexpected
        if other.integrity != "ok":
            self.integrity = other.integrity
        self.notes += other.notes

    def record(self) -> None:
        """Append to $HANGCHO_FAULTS_OUT (JSON lines) when set: `make faults` builds its report."""
        out = os.environ.get("HANGCHO_FAULTS_OUT")
        if out:
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps({**asdict(self), "full": FULL}, ensure_ascii=False) + "\n")


def integrity(journal: Path) -> str:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def issued(journal: Path) -> list[tuple[str | None, str, str]]:
    """(key, day, ticket) of every TicketIssued event in the journal."""
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT key, day, data FROM events WHERE type = 'TicketIssued' ORDER BY seq").fetchall()
    return [(key, day, json.loads(data)["ticket"]) for key, day, data in rows]


def _from_journal(fault: str, operations: int, journal: Path) -> tuple[Score, list, Counter]:
    """The part every check shares: integrity; a key or a day's number issued twice (duplicated);
    a number skipped inside a day's run of a service (unexpected: numbers are only taken by a
    durable write, so a gap means one was lost or rolled back). Returns the rows and keys too."""
    score = Score(fault, operations=operations, integrity=integrity(journal))
    rows = issued(journal)
    per_key = Counter(key for key, _, _ in rows)
    per_number = Counter((day, ticket) for _, day, ticket in rows)
    twice = sorted(str(k) for k, n in per_key.items() if n > 1) + sorted(
        f"{d} {t}" for (d, t), n in per_number.items() if n > 1
    )
    score.duplicated = len(twice)
    if twice:
        score.notes.append(f"issued twice: {twice[:5]}")
    runs: dict[tuple[str, str], set[int]] = defaultdict(set)
    for _, day, ticket in rows:
        service, number = _NUMBERED.fullmatch(ticket).groups()
        runs[(day, service)].add(int(number))
    gaps = {f"{d} {s}": max(n) - min(n) + 1 - len(n) for (d, s), n in runs.items() if max(n) - min(n) + 1 > len(n)}
    score.unexpected += sum(gaps.values())
    if gaps:
        score.notes.append(f"numbers skipped: {gaps}")
    return score, rows, per_key


def check_counted(fault: str, presses: dict[str, int], journal: Path) -> Score:
    """For boards whose event ids the firmware makes: `presses[device]` presses were made on
    each, so each must have exactly that many tickets under distinct keys of its own."""
    score, _, per_key = _from_journal(fault, sum(presses.values()), journal)
    for device, made in presses.items():
        keys = sum(1 for key in per_key if key and key.startswith(device + ":"))
        score.lost += max(0, made - keys)
        score.unexpected += max(0, keys - made)
        if keys != made:
            score.notes.append(f"{device}: {made} presses, {keys} tickets")
    score.unexpected += sum(1 for key in per_key if not key or key.split(":")[0] not in presses)
    return score


def check_presses(fault: str, sent: set[str], acked: dict[str, dict], journal: Path) -> Score:
    """Every sent press is one ticket in the journal, under its own key, acknowledged with that
    ticket; no ticket number is issued twice or skipped in a day; no ticket has no press behind it."""
    score, rows, per_key = _from_journal(fault, len(sent), journal)
    tickets_of: dict[str | None, set[str]] = defaultdict(set)
    for key, _, ticket in rows:
        tickets_of[key].add(ticket)
    lost = sorted(sent - per_key.keys())
    score.lost = len(lost)
    if lost:
        score.notes.append(f"no ticket for {lost[:5]}")
    stray = sorted(str(k) for k in per_key.keys() - sent)
    wrong = sorted(i for i, ack in acked.items() if ack.get("ok") and ack.get("ticket") not in tickets_of.get(i, ()))
    refused = sorted(i for i, ack in acked.items() if not ack.get("ok"))
    score.unexpected += len(stray) + len(wrong) + len(refused)
    if stray or wrong or refused:
        score.notes.append(f"no press behind {stray[:5]}; ack differs from journal {wrong[:5]}; refused {refused[:5]}")
    return score
