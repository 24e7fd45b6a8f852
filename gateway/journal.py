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

from .dispatch.events import DayOpened, Event, event_data, event_from

migrations = Migrations("hangcho.journal")


@migrations()
def m001_events(db: Database) -> None:
    db["events"].create(
        {"seq": int, "cmd": int, "day": str, "at": float, "type": str, "key": str, "data": str},
        pk="seq",
        not_null={"cmd", "day", "at", "type", "data"},
    )
    db["events"].create_index(["key"])
    # Where each business day starts, so replay needs no index on `events.day`:
    # every index is one more page written, and fsync'd, on every commit.
    db["days"].create({"day": str, "first_seq": int}, pk="day", not_null={"first_seq"})


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_INSERT = "INSERT INTO events (seq, cmd, day, at, type, key, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
_NEW_DAY = "INSERT INTO days (day, first_seq) VALUES (?, ?)"
_SELECT = "SELECT cmd, key, type, at, data FROM events"
Batch = tuple[str | None, tuple[Event, ...]]  # (idempotency key, one command's events)


class JournalError(RuntimeError):
    """The journal could not make events durable (disk full, I/O error...)."""

    def __init__(self, message: str, disk_full: bool = False):
        super().__init__(message)
        self.disk_full = disk_full  # SQLITE_FULL: no room left on the journal's file system


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        # The service opens the journal in one thread and writes it from its worker thread;
        # one thread at a time uses it, so the connection may move between threads.
        self.db = Database(sqlite3.connect(self.path, check_same_thread=False))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")
        migrations.apply(self.db)
        self._seq, self._cmd = self.db.execute(
            "SELECT coalesce(max(seq), 0), coalesce(max(cmd), 0) FROM events"
        ).fetchone()
        last = self.db.execute("SELECT day, first_seq FROM days ORDER BY first_seq DESC LIMIT 1").fetchone()
        self._day, self._day_seq = last if last else (None, 0)

    def append(self, batches: Iterable[Batch]) -> None:
        """Write several commands' events in one transaction (group commit)."""
        rows = []
        days = []
        seq, cmd, day = self._seq, self._cmd, self._day
        for key, events in batches:
            cmd += 1
            for e in events:
                seq += 1
                if e.__class__ is DayOpened:
                    day = e.day
                    days.append((day, seq))
                rows.append((seq, cmd, day, e.at, e.__class__.__name__, key, _encode(event_data(e))))
        if not rows:
            return
        conn = self.db.conn
        try:
            # The connection's own transaction: the INSERT begins it, the block commits it.
            with conn:
                if days:
                    conn.executemany(_NEW_DAY, days)
                if len(rows) == 1:
                    conn.execute(_INSERT, rows[0])
                else:
                    conn.executemany(_INSERT, rows)
        except sqlite3.Error as e:
            # SQLite rolls the transaction back: the file holds exactly the commits before this one.
            full = getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            raise JournalError(f"không ghi được nhật ký {self.path} (cannot write the journal): {e}", full) from e
        self._seq, self._cmd, self._day = seq, cmd, day
        if days:
            self._day_seq = days[-1][1]

    def current_day(self, upto_seq: int | None = None) -> Iterator[Batch]:
        """The latest business day's commands in order, for replay."""
        if self._day is None:
            return
        upto = self._seq if upto_seq is None else upto_seq
        rows = self.db.execute(_SELECT + " WHERE seq >= ? AND seq <= ? ORDER BY seq", [self._day_seq, upto])
        yield from _group(rows)

    def find(self, key: str) -> tuple[Event, ...] | None:
        """The events a key produced on any day, or None: a duplicate from before a restart."""
        for _, events in _group(self.db.execute(_SELECT + " WHERE key = ? ORDER BY seq", [key])):
            return events
        return None

    def last_seq(self) -> int:
        """The newest event's number, read from the file (not from memory)."""
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def close(self) -> None:
        self.db.close()


class JournalReader:
    """A second, read-only connection to the journal, for work beside the dispatcher (the sync to
    the central server): WAL lets it read while the service writes, and it never blocks a write."""

    def __init__(self, path: str | Path):
        self.conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, check_same_thread=False)

    def since(self, seq: int, limit: int = 5000) -> list[tuple[int, str, tuple[Event, ...]]]:
        """The commands after `seq` (about `limit` events, whole commands): (last seq, day, events)."""
        rows = self.conn.execute(
            "SELECT seq, cmd, day, type, at, data FROM events WHERE seq > ? AND cmd <= "
            "(SELECT coalesce(max(cmd), 0) FROM (SELECT cmd FROM events WHERE seq > ? ORDER BY seq LIMIT ?)) "
            "ORDER BY seq",
            [seq, seq, limit],
        ).fetchall()
        out: list[tuple[int, str, tuple[Event, ...]]] = []
        cmd = None
        for row_seq, row_cmd, day, type_name, at, data in rows:
            event = event_from(type_name, at, json.loads(data))
            if row_cmd == cmd:
                out[-1] = (row_seq, day, (*out[-1][2], event))
            else:
                out.append((row_seq, day, (event,)))
            cmd = row_cmd
        return out

    def day_start(self, seq: int) -> int:
        """The first seq of the business day that holds `seq` (1 when there is none)."""
        row = self.conn.execute("SELECT max(first_seq) FROM days WHERE first_seq <= ?", [seq]).fetchone()
        return row[0] or 1

    def close(self) -> None:
        self.conn.close()


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
