"""Slowing password guessing without locking the real user out.

Failed logins are counted per key over the last WINDOW_S: the user name tried, the client's
address, and, for a browser that logged in as that user before, its device cookie. Past a key's
free allowance every further try must wait a delay that doubles with each failure (1 s, 2 s,
4 s … at most MAX_DELAY_S) after the latest one; a try that comes too soon is refused before any
password is checked. A browser with a valid device cookie for the name it tries is judged by its
own failures only (OWASP's device cookies), so a stranger guessing at `tinh` slows every new
browser but never the province officer's own: their usual login goes through at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, func, select

from .schema import login_throttle

WINDOW_S = 15 * 60
MAX_DELAY_S = 300.0
FREE = {"user": 5, "address": 20, "device": 5}  # an office shares one address: more room there


def delay_s(kind: str, failures: int) -> float:
    """How long after its latest failure a key's next try must wait."""
    over = failures - FREE[kind]
    return 0.0 if over < 0 else min(MAX_DELAY_S, 2.0**over)


def keys(username: str, address: str | None, device: str | None) -> list[str]:
    """The keys a try counts against: a known device's own, or the name's and the address's."""
    if device:
        return [f"device:{device}"]
    return [f"user:{username[:64]}", f"address:{address or '?'}"]


def wait_s(conn: Connection, tried: Iterable[str], now: float) -> float:
    """Seconds until a try on these keys is allowed (0: now). Old failures are forgotten here."""
    tried = list(tried)
    conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(tried), login_throttle.c.at < now - WINDOW_S))
    rows = conn.execute(select(login_throttle.c.key, func.count(), func.max(login_throttle.c.at))
                        .where(login_throttle.c.key.in_(tried)).group_by(login_throttle.c.key))  # fmt: skip
    waits = [latest + delay_s(key.partition(":")[0], n) - now for key, n, latest in rows]
    return max([0.0, *waits])


def failed(conn: Connection, tried: Iterable[str], now: float) -> None:
    conn.execute(login_throttle.insert(), [{"key": key, "at": now} for key in tried])


def succeeded(conn: Connection, tried: Iterable[str]) -> None:
    conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(list(tried))))
