"""The latest view of each screen, handed from the service's worker to web clients.

The worker publishes a new view after each journal commit; each server-sent
events stream waits for a version newer than the one it sent. Closing the hub
ends every stream, so browsers reconnect to whatever serves next.
"""

from __future__ import annotations

import threading
from typing import Any


class ViewHub:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._views: dict[str, tuple[int, Any]] = {}
        self._version = 0
        self.closed = False

    def publish(self, name: str, view: Any) -> None:
        with self._cond:
            self._version += 1
            self._views[name] = (self._version, view)
            self._cond.notify_all()

    def latest(self, name: str) -> tuple[int, Any]:
        with self._cond:
            return self._views.get(name, (0, None))

    def wait(self, name: str, after: int, timeout: float) -> tuple[int, Any] | None:
        """The view once newer than `after`; None on timeout or when closed."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self._views.get(name, (0, None))[0] > after, timeout)
            if self.closed:
                return None
            version, view = self._views.get(name, (0, None))
            return (version, view) if version > after else None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
