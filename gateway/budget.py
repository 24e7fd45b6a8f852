"""Rate budgets per board: how many new presses a kiosk, new keys a counter, or messages any board
may send (the center's `[budgets]`, docs/dispatch.md). Pure: every function takes the time.

Each board has its own token bucket per kind, so a board that floods spends its own budget and
nobody else's: `rate` tokens a second, at most `burst` saved up. Only a *new* event id costs a
token: the dispatcher asks for one after it knows the id is no resend, so a board resending what
was already answered gets its first answer again, free.

A board that was away (Wi-Fi down, broker or gateway restarting, journal full) comes back with
up to a whole outbox of presses made legitimately while it was away, and sends them all at once
(firmware/app/link.py). Refusing those would lose citizens' tickets, so the bucket keeps a
**reserve** beside its burst: tokens that overflow the burst are saved there, up to `drain` (the
firmware outbox's size), and the reserve can be spent only during the DRAIN_WINDOW_S after the
board, or the gateway, came back: a board's `online` birth message, the gateway's start or its
reconnection to the broker, a journal failure. We rate by *our* clock, not the events' own
timing: a board's clock is not to be trusted, nor is its account once its password has leaked.

What a flooder gets, then: `burst + drain` once (it can announce itself `online` whenever it
likes, but the reserve refills only while its bucket is full, that is while it is quiet), and
`rate` a second after that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import BudgetRules

DRAIN_WINDOW_S = 60.0  # after a board (or the gateway) comes back: long enough for a few resend rounds
KINDS = ("press", "key")


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens a second
    burst: int  # tokens saved up at most
    drain: int = 0  # reserve saved up at most, spent only in a drain window


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    reserve: float
    at: float  # when it was last brought up to date
    open_until: float = 0.0  # the reserve may be spent before this


def full(limit: Limit, now: float, window: bool = False) -> Bucket:
    """A bucket as a board gets it when the gateway starts: full, the reserve too (the broker may
    be holding the events of the gateway's downtime), with a drain window open if asked."""
    return Bucket(float(limit.burst), float(limit.drain), now, now + DRAIN_WINDOW_S if window else 0.0)


def refill(b: Bucket, limit: Limit, now: float) -> Bucket:
    """Bring a bucket up to `now`. Time that ran backwards (a corrected clock) refills nothing and
    restarts from `now`, so it cannot starve a board either."""
    tokens = b.tokens + limit.rate * max(0.0, now - b.at)
    reserve = b.reserve
    if tokens > limit.burst:
        reserve = min(float(limit.drain), reserve + tokens - limit.burst)
        tokens = float(limit.burst)
    return Bucket(tokens, reserve, now, b.open_until)


def take(b: Bucket, limit: Limit, now: float) -> tuple[Bucket, bool]:
    """(the bucket after, whether one token was there to take)."""
    b = refill(b, limit, now)
    if b.tokens >= 1:
        return replace(b, tokens=b.tokens - 1), True
    if now < b.open_until and b.reserve >= 1:
        return replace(b, reserve=b.reserve - 1), True
    return b, False


def opened(b: Bucket, limit: Limit, now: float) -> Bucket:
    """The board (or the gateway) is back: its reserve may be spent for DRAIN_WINDOW_S."""
    return replace(refill(b, limit, now), open_until=now + DRAIN_WINDOW_S)


def limits(rules: BudgetRules) -> dict[str, Limit]:
    return {
        "press": Limit(rules.press_per_s, rules.press_burst, rules.drain),
        "key": Limit(rules.key_per_s, rules.key_burst, rules.drain),
    }


class Budgets:
    """Every board's press or key bucket. The worker thread alone uses it; `saved()` and
    `restore()` let it undo a group whose journal write failed (nothing was issued, so nothing
    may be spent)."""

    def __init__(self, rules: BudgetRules, kinds: dict[str, str], now: float):
        """`kinds`: device id → "press" or "key" (boards that send no events have no bucket)."""
        self.limits = limits(rules)
        self.kinds = kinds
        self.buckets = {d: full(self.limits[k], now, window=True) for d, k in kinds.items()}

    def take(self, device: str, now: float) -> bool:
        kind = self.kinds.get(device)
        if kind is None:
            return True
        self.buckets[device], ok = take(self.buckets[device], self.limits[kind], now)
        return ok

    def back(self, device: str, now: float) -> None:
        """The board announced itself (`online`): its outbox is on its way."""
        kind = self.kinds.get(device)
        if kind is not None:
            self.buckets[device] = opened(self.buckets[device], self.limits[kind], now)

    def all_back(self, now: float) -> None:
        """The gateway is back (reconnected, or its journal failed): every board may drain."""
        for device in self.buckets:
            self.back(device, now)

    def saved(self) -> dict[str, Bucket]:
        return dict(self.buckets)  # buckets are immutable: a shallow copy is a snapshot

    def restore(self, saved: dict[str, Bucket]) -> None:
        self.buckets = saved

    def describe(self, device: str) -> str:
        """The budget in words, for a refusal's message."""
        limit = self.limits[self.kinds[device]]
        return f"{limit.rate:g}/s, burst {limit.burst}"


class Pacer:
    """At most once per `every` seconds per key; an ask that comes too soon is remembered and
    becomes due when the interval is over (so the last word is never lost, only delayed)."""

    def __init__(self, every: float):
        self.every = every
        self.last: dict[str, float] = {}
        self.waiting: set[str] = set()

    def ask(self, key: str, now: float) -> bool:
        last = self.last.get(key)
        if last is None or not 0 <= now - last < self.every:
            self.last[key] = now
            self.waiting.discard(key)
            return True
        self.waiting.add(key)
        return False

    def forget(self, key: str) -> None:
        """No longer wanted (the board has what it asked for)."""
        self.waiting.discard(key)

    def due(self, now: float) -> list[str]:
        """The remembered asks whose interval is over; each counts as done now."""
        ready = sorted(k for k in self.waiting if not 0 <= now - self.last[k] < self.every)
        for key in ready:
            self.last[key] = now
            self.waiting.discard(key)
        return ready

    def next_due(self, now: float) -> float | None:
        """Seconds until the first remembered ask is due, if any."""
        if not self.waiting:
            return None
        return max(0.0, min(self.last[k] + self.every - now for k in self.waiting))
