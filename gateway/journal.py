"""The journal: every accepted command's events, durable in SQLite.

One row per event; the events of one command share a `cmd` number and the
command's idempotency `key`. The file runs in WAL mode with synchronous=FULL,
so a commit has reached the disk when `append` returns: only then may the
gateway tell anyone (a printer, a display, an ack) about those events. The
schema is built by sqlite-utils migrations; add a function to `migrations`
to change it, never edit one that has shipped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlite_utils import Database, Migrations

from .dispatch.events import Event, event_data, event_from

migrations = Migrations("hangcho.journal")


@migrations()
def m001_events(db: Database) -> None:
    db["events"].create(
        {"seq": int, "cmd": int, "day": str, "at": float, "type": str, "key": str, "data": str},
        pk="seq",
        not_null={"cmd", "day", "at", "type", "data"},
    )
    db["events"].create_index(["day", "seq"])
    db["events"].create_index(["key"])


_INSERT = "INSERT INTO events (cmd, day, at, type, key, data) VALUES (?, ?, ?, ?, ?, ?)"
Batch = tuple[str | None, tuple[Event, ...]]  # (idempotency key, one command's events)


class JournalError(RuntimeError):
    """The journal could not make events durable (disk full, I/O error...)."""


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = Database(self.path)
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")
        migrations.apply(self.db)
        row = self.db.execute(
            "SELECT max(cmd), (SELECT day FROM events ORDER BY seq DESC LIMIT 1) FROM events"
        ).fetchone()
        self._cmd = row[0] or 0
        self._day = row[1]

    def append(self, batches: Iterable[Batch]) -> None:
        """Write several commands' events in one transaction (group commit)."""
        rows = []
        cmd, day = self._cmd, self._day
        for key, events in batches:
            cmd += 1
            for e in events:
                if type(e).__name__ == "DayOpened":
                    day = e.day
                rows.append((cmd, day, e.at, type(e).__name__, key, json.dumps(event_data(e), ensure_ascii=False)))
        if not rows:
            return
        try:
            with self.db.atomic():
                self.db.conn.executemany(_INSERT, rows)
        except sqlite3.Error as e:
            raise JournalError(f"không ghi được nhật ký {self.path} (cannot write the journal): {e}") from e
        self._cmd, self._day = cmd, day

    def current_day(self, upto_seq: int | None = None) -> Iterator[Batch]:
        """The latest business day's commands in order, for replay."""
        if self._day is None:
            return
        sql = "SELECT cmd, key, type, at, data FROM events WHERE day = ?"
        params: list = [self._day]
        if upto_seq is not None:
            sql += " AND seq <= ?"
            params.append(upto_seq)
        yield from _group(self.db.execute(sql + " ORDER BY seq", params))

    def find(self, key: str) -> tuple[Event, ...] | None:
        """The events a key produced on any day, or None: a duplicate from before a restart."""
        rows = self.db.execute("SELECT cmd, key, type, at, data FROM events WHERE key = ? ORDER BY seq", [key])
        for _, events in _group(rows):
            return events
        return None

    def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def _group(rows: Iterable[tuple]) -> Iterator[Batch]:
    cmd = key = None
    events: list[Event] = []
    for row_cmd, row_key, type_name, at, data in rows:
        if row_cmd != cmd and events:
            yield key, tuple(events)
            events = []
        cmd, key = row_cmd, row_key
        events.append(event_from(type_name, at, json.loads(data)))
    if events:
        yield key, tuple(events)
