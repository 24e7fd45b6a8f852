"""The audit log: who logged in (or failed to), changed a user or a gateway token, purged rows or
took an export, when and from where. Written in the same transaction as the act itself, so an
act is never without its line; read by `hangcho-server audit` and the national users' /audit page.
Kept for ever: a few hundred rows a day for a province (tries refused by the login throttle
are not logged, so a guesser cannot grow it faster than the throttle lets them try).
"""

from __future__ import annotations

import getpass
import time

from sqlalchemy import Connection, select

from .schema import audit_log

ACTIONS = ("login", "login_failed", "logout", "user_added", "user_disabled", "user_enabled", "user_removed",
           "password_set", "center_added", "gateway_added", "gateway_revoked", "purged", "exported")  # fmt: skip


def record(conn: Connection, action: str, actor: str, address: str | None, target: str = "", detail: str = "",
           now: float | None = None) -> None:  # fmt: skip
    assert action in ACTIONS, action
    conn.execute(audit_log.insert().values(at=time.time() if now is None else now, actor=actor[:80],
                                           address=(address or "?")[:64], action=action, target=target[:160],
                                           detail=detail))  # fmt: skip


def command_line() -> tuple[str, str]:
    """(actor, address) for what a technician does with `hangcho-server`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"cli:{user}", "local"


def latest(conn: Connection, limit: int = 200, since: float | None = None) -> list[dict]:
    """Newest first."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    return [dict(r) for r in conn.execute(query).mappings()]
