"""The gateway's inbox: a lane per board, served in turn, each bounded.

Every message from the broker arrives in order on paho's one network thread, and the worker
thread takes them in groups. With one shared queue, a board that floods puts its messages ahead
of everyone else's press and grows the gateway's memory without limit. Here each board has its
own lane; `put` (called on paho's thread, so it stays a few dictionary operations) admits a
message only within the board's message budget (`budgets.messages_per_s`, a token bucket) and
while its lane holds fewer than `budgets.messages_burst`; otherwise the message is **shed**: the
newest one, the board's own, counted for the log and the fleet page's alert. Boards resend every
event until it is acknowledged (docs/protocol.md), so shedding costs the flooding board its own
messages and nobody else's; the oldest waiting messages keep their place, and their order.

`take` builds a group round-robin, at most PER_LANE from each lane, so a board's press waits
behind at most PER_LANE messages of each other board, never behind a flood. Console requests
and the stop marker have a lane of their own that is never shed and always served first.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .budget import Bucket, Limit, full, take

PER_LANE = 16  # of one board's messages in one group: a flood never sits ahead of a press for long
CONTROL = "\0control"  # the console's and the service's own lane


class FairInbox:
    def __init__(self, rate: float, burst: int):
        self.limit = Limit(rate, burst)
        self.burst = burst
        self._lanes: dict[str, deque] = {}
        self._buckets: dict[str, Bucket] = {}
        self._order: deque[str] = deque()  # lanes with something waiting, in serving order
        self._control: deque = deque()
        self._shed: dict[str, int] = {}
        self._cond = threading.Condition(threading.Lock())

    def put(self, lane: str, item: Any, now: float) -> bool:
        """Queue a board's message; False when it was shed (over rate, or its lane full)."""
        with self._cond:
            bucket = self._buckets.get(lane)
            if bucket is None:
                bucket = full(self.limit, now)
            bucket, ok = take(bucket, self.limit, now)
            self._buckets[lane] = bucket
            queue = self._lanes.get(lane)
            if queue is None:
                queue = self._lanes[lane] = deque()
            if not ok or len(queue) >= self.burst:
                self._shed[lane] = self._shed.get(lane, 0) + 1
                return False
            if not queue:
                self._order.append(lane)
            queue.append(item)
            self._cond.notify()
            return True

    def put_control(self, item: Any) -> None:
        """A console request or the stop marker: never shed, served before the boards."""
        with self._cond:
            self._control.append(item)
            self._cond.notify()

    def take(self, most: int, timeout: float) -> list[Any]:
        """Up to `most` messages, round-robin over the lanes; [] if nothing came within `timeout`."""
        with self._cond:
            if not self._control and not self._order:
                self._cond.wait(timeout)
            group = []
            while self._control and len(group) < most:
                group.append(self._control.popleft())
            for _ in range(len(self._order)):  # one turn of each lane waiting
                if len(group) >= most:
                    break
                lane = self._order.popleft()
                queue = self._lanes[lane]
                for _ in range(min(PER_LANE, most - len(group), len(queue))):
                    group.append(queue.popleft())
                if queue:
                    self._order.append(lane)
            return group

    def waiting(self) -> dict[str, int]:
        """How many messages wait per lane (for tests and the log)."""
        with self._cond:
            return {lane: len(q) for lane, q in self._lanes.items() if q} | (
                {CONTROL: len(self._control)} if self._control else {}
            )

    def shed(self) -> dict[str, int]:
        """Messages shed per lane since the last call."""
        with self._cond:
            counts, self._shed = self._shed, {}
            return counts
