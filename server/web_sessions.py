"""Logged-in browsers, kept in the database: the signed cookie holds only a random session id.

So logging out, a new password or a disabled user ends a session on every worker and node at
once, and a cookie copied before then is worth nothing. A session ends after IDLE_S without a
request and ABSOLUTE_S after its login, whatever happens. The row stores the id's SHA-256: a
copy of the table does not log anyone in.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, delete, select

from .accounts import User, user_from
from .schema import users, web_sessions

IDLE_S = 30 * 60
ABSOLUTE_S = 12 * 3600
SEEN_EVERY_S = 60.0  # how stale `seen_at` may be: not a write on every request


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(conn: Connection, user: User, address: str | None, now: float) -> str:
    """A new session for `user`; the returned id goes into the cookie, never into the database."""
    sid = secrets.token_urlsafe(32)
    conn.execute(web_sessions.insert().values(id=_key(sid), user_id=user.id, created_at=now, seen_at=now,
                                              address=(address or "")[:64]))  # fmt: skip
    return sid


def find(conn: Connection, sid: str, now: float) -> User | None:
    """The session's user, or None (unknown, ended, expired, or the user disabled or removed)."""
    row = conn.execute(
        select(web_sessions.c.created_at, web_sessions.c.seen_at, users.c.id, users.c.username, users.c.role,
               users.c.center_id, users.c.province_code, users.c.commune_code, users.c.disabled)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.id == _key(sid))
    ).first()  # fmt: skip
    if row is None:
        return None
    if row.disabled or now - row.seen_at > IDLE_S or now - row.created_at > ABSOLUTE_S:
        end(conn, sid)
        return None
    if now - row.seen_at > SEEN_EVERY_S:
        conn.execute(web_sessions.update().where(web_sessions.c.id == _key(sid)).values(seen_at=now))
    return user_from(row)


def end(conn: Connection, sid: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.id == _key(sid)))


def end_all(conn: Connection, user_id: int) -> int:
    """Every session of a user (a new password, a disabled or removed user)."""
    return conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id)).rowcount


def forget_expired(conn: Connection, now: float) -> int:
    """Rows of sessions nobody can use any more (run with `prune`)."""
    old = (web_sessions.c.seen_at < now - IDLE_S) | (web_sessions.c.created_at < now - ABSOLUTE_S)
    return conn.execute(delete(web_sessions).where(old)).rowcount
