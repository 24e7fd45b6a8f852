# A 4x4 matrix keypad, scanned from asyncio: each row driven low in turn, the columns read with
# pull-ups. A key is reported once per press after it is stable for DEBOUNCE_MS.
import asyncio

from machine import Pin
from micropython import const

KEYS = ("123A", "456B", "789C", "*0#D")
POLL_MS = const(15)
DEBOUNCE_MS = const(45)


class Keypad:
    def __init__(self, rows, cols, on_key):
        self.rows = [Pin(r, Pin.OUT, value=1) for r in rows]
        self.cols = [Pin(c, Pin.IN, Pin.PULL_UP) for c in cols]
        self.on_key = on_key  # function(key: str)
        self._held = None
        self._count = 0

    def scan(self):
        """The key held now, or None (the first one found, if several)."""
        found = None
        for r, row in enumerate(self.rows):
            row.value(0)
            for c, col in enumerate(self.cols):
                if found is None and col.value() == 0:
                    found = KEYS[r][c]
            row.value(1)
        return found

    async def run(self):
        need = DEBOUNCE_MS // POLL_MS
        candidate = None
        while True:
            key = self.scan()
            if key == candidate:
                self._count += 1
            else:
                candidate, self._count = key, 0
            if self._count == need and key != self._held:
                self._held = key
                if key is not None:
                    self.on_key(key)
            await asyncio.sleep_ms(POLL_MS)
