"""The gateway's side of the sync: fold the journal, keep batches in an outbox, push them.

A second fold of the journal (read-only, beside the dispatcher) knows which hourly buckets
changed. When the outbox is empty those buckets become one batch with the next sequence number,
written to the outbox (its own SQLite file) together with how far the journal was read, in one
transaction. The oldest batch is sent, with a fresh snapshot, until the server accepts it; only
then is the next one built. While the server is away the changed buckets simply accumulate, so
hours or days of outage drain as a few batches (one more for each business day that ended).
A restart reads the journal again from where the last batch was built: nothing is lost.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contracts.sync import build_batches, snapshot_only

from ..config import CenterConfig
from ..dispatch.events import DayOpened
from ..dispatch.state import State
from ..journal import JournalReader
from .buckets import CounterKey, Key, buckets, counter_days, snapshot, touched, touched_counters

log = logging.getLogger("hangcho.sync")
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no answer (network down, timeout)
    body: dict[str, Any]


def http_post(url: str, token: str, body: bytes, timeout: float = 10.0) -> Reply:
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return Reply(r.status, json.loads(r.read() or b"{}"))
    except urllib.error.HTTPError as e:
        try:
            return Reply(e.code, json.loads(e.read() or b"{}"))
        except ValueError:
            return Reply(e.code, {})
    except (OSError, ValueError) as e:
        return Reply(0, {"reason": str(e)})


class Outbox:
    """Batches built and not yet accepted, and how far the journal was read (sync.db)."""

    def __init__(self, path: str | Path):
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at REAL)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def meta(self, key: str, default: int) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return default if row is None else row[0]

    def add(self, bodies: list[dict[str, Any]], upto: int, now: float) -> None:
        """The batches of one build, all or none (consecutive seqs)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT INTO outbox (seq, body, created_at) VALUES (?, ?, ?)",
                                [(b["seq"], json.dumps(b, ensure_ascii=False), now) for b in bodies])  # fmt: skip
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [("next_seq", bodies[-1]["seq"] + 1), ("upto", upto)])  # fmt: skip

    def oldest(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else json.loads(row[0])

    def pending(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def remove(self, seq: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])

    def renumber(self, first: int) -> None:
        """Give the pending batches fresh numbers from `first` (the server already used ours)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            rows = self.db.execute("SELECT seq, body FROM outbox ORDER BY seq").fetchall()
            self.db.execute("DELETE FROM outbox")
            for n, (_, text) in enumerate(rows):
                body = json.loads(text) | {"seq": first + n}
                self.db.execute("INSERT INTO outbox (seq, body) VALUES (?, ?)", [first + n, json.dumps(body)])
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('next_seq', ?)", [first + len(rows)])

    def restart(self, next_seq: int) -> None:
        """Drop every pending batch and read the journal again from its start, numbering from
        `next_seq` (the province removed what a stolen credential wrote and asks for it all)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM outbox")
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [("next_seq", next_seq), ("upto", 0)])  # fmt: skip

    def close(self) -> None:
        self.db.close()


class Sync:
    def __init__(
        self,
        config: CenterConfig,
        journal: str | Path,
        outbox: str | Path,
        url: str,
        token: str,
        devices: Callable[[], dict[str, Any]] = dict,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        post: Callable[[str, str, bytes], Reply] = http_post,
    ):
        self.config, self.url, self.token, self.devices = config, url, token, devices
        self.interval_s, self.clock, self.post = interval_s, clock, post
        self.zone = ZoneInfo(config.timezone)
        self.reader, self.outbox = JournalReader(journal), Outbox(outbox)
        self.state = State(config)
        self.touched: set[Key] = set()
        self.touched_counters: set[CounterKey] = set()
        self.failures, self.last_ok_at, self.last_error = 0, None, None
        self.caught_up = False
        self.folded = self.outbox.meta("upto", 0)
        self._replay_to(self.folded)

    def _replay_to(self, upto: int) -> None:
        """Rebuild the fold up to what earlier batches covered, touching nothing."""
        seq = self.reader.day_start(upto) - 1 if upto else 0
        while seq < upto:
            chunk = self.reader.since(seq)
            for last, _, events in chunk:
                if last > upto:
                    return
                self.state.commit(events)
                seq = last
            if not chunk:
                return

    def fold(self) -> None:
        """Read the journal's new commands; a new business day first closes the old one's batch.

        The command that opens a day begins with the old day's closings (its unfinished tickets,
        then DayOpened): those are folded into the old day, whose batch is built, before the rest."""
        chunk = self.reader.since(self.folded)
        for last, _, events in chunk:
            opens = next((i for i, e in enumerate(events) if e.__class__ is DayOpened), None)
            if opens is not None:
                self._fold(events[:opens])
                if self.touched or self.touched_counters:
                    self.build()  # the day's last values go out even while earlier ones wait
                events = events[opens:]
            self._fold(events)
            self.folded = last
        self.caught_up = not self.reader.since(self.folded, limit=1)

    def _fold(self, events: tuple) -> None:
        # Before and after: a transfer moves a ticket to another service's bucket, and the one it
        # left must be sent again without it.
        self.touched |= touched(self.state, events, self.zone)
        self.state.commit(events)
        self.touched |= touched(self.state, events, self.zone)
        self.touched_counters |= touched_counters(self.state, events)

    def build(self) -> None:
        if not self.touched and not self.touched_counters:
            return
        seq = self.outbox.meta("next_seq", 1)
        rows = buckets(self.state, self.touched, self.zone)
        days = counter_days(self.state, self.touched_counters)
        self.outbox.add(build_batches(self.config.id, seq, rows, days), self.folded, self.clock())
        self.touched.clear()
        self.touched_counters.clear()

    def step(self) -> float:
        """One round: fold, build when the outbox is empty, send the oldest batch. Returns how
        long to wait before the next round (0 while a backlog drains)."""
        self.fold()
        if self.outbox.pending() == 0:
            self.build()
        batch = self.outbox.oldest()
        body = dict(batch) if batch else snapshot_only(self.config.id)
        if self.caught_up and self.state.day is not None:
            body["snapshot"] = snapshot(self.state, self.devices(), self.clock())
        reply = self.post(self.url, self.token, json.dumps(body, ensure_ascii=False).encode())
        if reply.status == 200:
            if batch:
                self.outbox.remove(batch["seq"])
            self.failures, self.last_ok_at, self.last_error = 0, self.clock(), None
            return 0.0 if self.outbox.pending() or not self.caught_up else self.interval_s
        if reply.status == 409 and isinstance(reply.body.get("next_seq"), int) and reply.body.get("resend") is True:
            log.warning("sync: %s; reading the journal again from its start", reply.body.get("reason", ""))
            self.outbox.restart(reply.body["next_seq"])
            self.state, self.folded = State(self.config), 0
            self.touched.clear()
            self.touched_counters.clear()
            return 0.0
        if reply.status == 409 and isinstance(reply.body.get("next_seq"), int):
            log.warning("sync: the server refused seq %s (%s); renumbering from %s", body.get("seq"),
                        reply.body.get("reason", ""), reply.body["next_seq"])  # fmt: skip
            self.outbox.renumber(reply.body["next_seq"])
            return 0.0
        self.failures += 1
        self.last_error = f"{reply.status or 'no answer'}: {reply.body.get('reason', '')}"
        log.warning("sync: the server did not take the batch (%s); retrying", self.last_error)
        return min(MAX_BACKOFF_S, self.interval_s * 2 ** min(self.failures - 1, 10)) * random.uniform(0.5, 1.5)

    def status(self) -> dict[str, Any]:
        return {"pending": self.outbox.pending(), "failures": self.failures, "last_ok_at": self.last_ok_at,
                "last_error": self.last_error}  # fmt: skip

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                wait = self.step()
            except Exception:  # the sync must never take the center down with it
                log.exception("sync: round failed")
                wait = self.interval_s
            stop.wait(wait)

    def close(self) -> None:
        self.reader.close()
        self.outbox.close()
