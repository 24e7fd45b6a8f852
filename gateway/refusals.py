"""Refused messages in the log, coalesced: one line per board and reason per minute, with a count.

A board that floods would otherwise write a log line per message (98,886 lines in one attack),
which fills journald and hides everything else. The first refusal of a (board, what) is written
at once, with its detail, so a technician sees it as it happens; the ones after it in the same
minute are only counted, and one line at the end of the minute says how many there were and the
latest detail. A minute with none closes the window: the next refusal is written at once again.
`what` is the kind of refusal: `event`, `info`, `tele` (malformed), `message` (a topic or board
the gateway does not know), `messages` (shed at the inbox), or the core's code (`over_budget`,
`illegal_transition`…). A window of 0 writes every refusal (the fuzz tests read each one).
Pure: the caller passes the time and writes the lines it gets back.
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

    def refused(self, device: str, what: str, detail: str, now: float, count: int = 1) -> list[str]:
        """The lines to write now: the first refusal of a minute, or none when it is counted into
        its minute's line (and that minute's line, if the minute is over and nobody asked yet)."""
        key = (device, what)
        lines = self._close(key, now) if key in self._open else []
        window = self._open.get(key)
        if window is None:
            self._open[key] = _Window(now)
            return [*lines, f"refused {what} from {device}: {detail}"]
        window.count += count
        window.detail = detail
        return lines

    def due(self, now: float) -> list[tuple[str, str]]:
        """(what, line) of every minute that is over: one per (board, what) that had more."""
        return [(key[1], line) for key in list(self._open) for line in self._close(key, now)]

    def _close(self, key: tuple[str, str], now: float) -> list[str]:
        window = self._open[key]
        if 0 <= now - window.since < self.window_s:
            return []
        if not window.count:
            del self._open[key]
            return []
        device, what = key
        self._open[key] = _Window(now)
        return [
            f"refused {what} from {device}: {window.count} more in the last {now - window.since:.0f} s"
            f" (latest: {window.detail})"
        ]

    def next_due(self, now: float) -> float | None:
        """Seconds until the next minute ends, if any is open."""
        if not self._open:
            return None
        return max(0.0, min(w.since + self.window_s - now for w in self._open.values()))
