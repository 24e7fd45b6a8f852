"""Console sign-ins kept on the gateway, so that they can end.

A signed cookie cannot be taken back: a copy made before logout would keep working. Here the
cookie carries only a random token; the gateway keeps its SHA-256 (a copy of the table gives no
cookie) with the counter, the CSRF token and a tag of the counter's PIN in a small SQLite file
beside the journal. Logout deletes the row. At start the rows whose PIN tag no longer matches
center.toml are deleted: a PIN change plus a restart ends every sign-in of that counter, while a
plain restart keeps them. A sign-in unused for IDLE_S ends by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

IDLE_S = 12 * 3600  # a working day: the clerk signs in once in the morning
TOUCH_S = 60.0  # last use is written at most this often per sign-in

_SCHEMA = """CREATE TABLE IF NOT EXISTS console_sessions (
    id TEXT PRIMARY KEY,  -- SHA-256 of the cookie's token
    counter INTEGER NOT NULL,
    pin_tag TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Session:
    counter: int
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Sign-ins by token. `pins` is counter → PIN as center.toml has it now."""

    def __init__(self, path: str | Path, key: bytes, pins: Mapping[int, str | None],
                 clock: Callable[[], float] = time.time):  # fmt: skip
        self.key, self.clock = key, clock
        self.tags = {n: self._tag(n, pin) for n, pin in pins.items() if pin}
        if str(path) != ":memory:" and not Path(path).exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # it names who is signed in
        self._lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(_SCHEMA)
        self.ended_by_pin = self._forget_changed()

    def _tag(self, counter: int, pin: str) -> str:
        return hmac.new(self.key, f"{counter}:{pin}".encode(), hashlib.sha256).hexdigest()

    def _forget_changed(self) -> int:
        """Delete sign-ins whose counter lost its PIN or has another one; return how many."""
        with self._lock:
            rows = self.db.execute("SELECT id, counter, pin_tag FROM console_sessions").fetchall()
            stale = [(sid,) for sid, counter, tag in rows if not hmac.compare_digest(tag, self.tags.get(counter, ""))]
            self.db.executemany("DELETE FROM console_sessions WHERE id = ?", stale)
            self.db.execute("DELETE FROM console_sessions WHERE last_seen < ?", (self.clock() - IDLE_S,))
        return len(stale)

    def open(self, counter: int) -> tuple[str, Session]:
        """A new sign-in for `counter` (its PIN already checked): (cookie token, session)."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self.clock()
        with self._lock:
            self.db.execute("INSERT INTO console_sessions VALUES (?, ?, ?, ?, ?, ?)",
                            (_digest(token), counter, self.tags[counter], csrf, now, now))  # fmt: skip
        return token, Session(counter, csrf)

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        sid, now = _digest(token), self.clock()
        with self._lock:
            row = self.db.execute("SELECT counter, pin_tag, csrf, last_seen FROM console_sessions WHERE id = ?",
                                  (sid,)).fetchone()  # fmt: skip
            if row is None:
                return None
            counter, tag, csrf, last_seen = row
            if now - last_seen > IDLE_S or not hmac.compare_digest(tag, self.tags.get(counter, "")):
                self.db.execute("DELETE FROM console_sessions WHERE id = ?", (sid,))
                return None
            if now - last_seen > TOUCH_S:
                self.db.execute("UPDATE console_sessions SET last_seen = ? WHERE id = ?", (now, sid))
        return Session(counter, csrf)

    def close(self, token: str | None) -> None:
        if token:
            with self._lock:
                self.db.execute("DELETE FROM console_sessions WHERE id = ?", (_digest(token),))

    def count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT count(*) FROM console_sessions").fetchone()[0]
