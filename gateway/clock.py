"""The gateway's clock for demos and rehearsals: a simulated day played faster than real time.

`ScaledClock(start, factor, anchor)` reads `start` at the wall-clock moment `anchor` and runs
`factor` times as fast. Every process given the same three numbers agrees on the time, so the
demo's simulated citizens and the gateway see the same day. In service the gateway runs on
`time.time` and none of this is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ScaledClock:
    start: float  # the simulated moment at `anchor` (epoch seconds)
    factor: float
    anchor: float  # a wall-clock moment (epoch seconds)

    def __call__(self) -> float:
        return self.start + (time.time() - self.anchor) * self.factor

    def wall(self, simulated: float) -> float:
        """The wall-clock moment at which the simulated clock reads `simulated`."""
        return self.anchor + (simulated - self.start) / self.factor
