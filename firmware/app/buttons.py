# Debounced buttons, polled from asyncio (no interrupts: nothing blocks, nothing races).
# Active low with the pull-up: a press is a stable 0 after a stable 1, held for DEBOUNCE_MS.
import asyncio

from machine import Pin
from micropython import const

POLL_MS = const(10)
DEBOUNCE_MS = const(30)


class Buttons:
    def __init__(self, gpios, on_press):
        self.pins = [Pin(g, Pin.IN, Pin.PULL_UP) for g in gpios]
        self.on_press = on_press  # function(index)
        self._stable = [1] * len(self.pins)
        self._count = [0] * len(self.pins)

    async def run(self):
        need = DEBOUNCE_MS // POLL_MS
        while True:
            for i, pin in enumerate(self.pins):
                v = pin.value()
                if v == self._stable[i]:
                    self._count[i] = 0
                    continue
                self._count[i] += 1
                if self._count[i] >= need:
                    self._stable[i], self._count[i] = v, 0
                    if v == 0:
                        self.on_press(i)
            await asyncio.sleep_ms(POLL_MS)
