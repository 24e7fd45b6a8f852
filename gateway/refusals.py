"""Refused messages in the log, coalesced: one line per board and reason per minute, with a count.

A board that floods would otherwise write a log line per message (98,886 lines in one attack),
which fills journald and hides everything else. The first refusal of a (board, reason) is
written at once, with its detail, so a technician sees it as it happens; the ones after it in
the same minute are only counted, and one line at the end of the minute says how many there
were and the latest detail. A minute with none closes the window: the next refusal is written
at once again. Pure: the caller passes the time and writes the lines it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(slots=True)
class _Window:
    since: float
    count: int = 0
    detail: str = ""


class RefusalLog:
    def __init__(self, window_s: float = WINDOW_S):
        self.window_s = window_s
        self._open: dict[tuple[str, str], _Window] = {}

    def refused(self, device: str, reason: str, detail: str, now: float, count: int = 1) -> str | None:
        """The line to write now, or None when these `count` refusals go into their minute's line."""
        window = self._open.get((device, reason))
        if window is None:
            self._open[(device, reason)] = _Window(now)
            return f"{device}: refused ({reason}): {detail}"
        window.count += count
        window.detail = detail
        return None

    def due(self, now: float) -> list[str]:
        """The lines of every minute that is over: one per (board, reason) that had more."""
        lines = []
        for key, window in list(self._open.items()):
            if not 0 <= now - window.since < self.window_s:
                device, reason = key
                if window.count:
                    seconds = now - window.since
                    lines.append(
                        f"{device}: refused ({reason}): {window.count} more in the last {seconds:.0f} s"
                        f" (latest: {window.detail})"
                    )
                    self._open[key] = _Window(now)
                else:
                    del self._open[key]
        return lines

    def next_due(self, now: float) -> float | None:
        """Seconds until the next minute ends, if any is open."""
        if not self._open:
            return None
        return max(0.0, min(w.since + self.window_s - now for w in self._open.values()))
