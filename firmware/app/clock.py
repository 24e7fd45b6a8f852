# The board's clock: the gateway's time (`gateway/time`, docs/protocol.md "The board's clock"),
# kept as Unix milliseconds at a ticks_ms() reading. Nothing sets an ESP32's RTC, which starts in
# 2000 at power-up, so a command's `exp` is judged by this clock and never by time.time(); the
# RTC is left alone, since durations (blinking, rating windows, OTA deadlines) use it.
# Integers only: a board's floats are 32-bit, and 1.8e9 s in one is off by up to 64 s.
import time


class Clock:
    def __init__(self):
        self._ms = None  # Unix ms at self._ticks; None until the gateway's first time
        self._ticks = 0

    def set(self, ms, ticks=None):
        self._ms, self._ticks = int(ms), time.ticks_ms() if ticks is None else ticks

    def now_ms(self, ticks=None):
        """Unix ms at `ticks` (now by default), or None before the first time."""
        if self._ms is None:
            return None
        return self._ms + time.ticks_diff(time.ticks_ms() if ticks is None else ticks, self._ticks)

    def expired(self, exp_s, ticks=None):
        """Is a command with this `exp` (whole Unix seconds) past it? None: no time known yet."""
        now = self.now_ms(ticks)
        if now is None:
            return None
        return int(exp_s) * 1000 < now
