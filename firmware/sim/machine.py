# A stand-in for MicroPython's `machine` module on the unix port, for the tests: it sits below
# the firmware's own drivers, which run unchanged. UART bytes go to a file (the printed ticket),
# so a test can decode exactly what a printer would have received.
import os

CAPTURE_DIR = os.getenv("HANGCHO_CAPTURE") or "."


class UART:
    def __init__(self, id, baudrate=9600, tx=None, rx=None, **kwargs):
        self.id, self.baudrate = id, baudrate
        self._path = "%s/uart%d.bin" % (CAPTURE_DIR, id)
        self._replies = b""

    def write(self, data):
        with open(self._path, "ab") as f:
            f.write(data)
        return len(data)

    def read(self, n=-1):
        data, self._replies = self._replies, b""
        return data or None

    def any(self):
        return len(self._replies)

    def reply(self, data):
        """Test hook: what the printer answers next (e.g. its paper status)."""
        self._replies += data


class Pin:
    """A GPIO. An input reads the file pins/<id> if a test wrote one ("0" = pressed, active low
    with the pull-up), else 1; an output's value is written to pins/<id>.out for the test."""

    IN, OUT, PULL_UP = 0, 1, 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id, self.mode = id, mode
        self._value = 1 if value is None else value

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return self._value
            try:
                with open("%s/pins/%d" % (CAPTURE_DIR, self.id)) as f:
                    return int(f.read().strip() or "1")
            except (OSError, ValueError):
                return 1
        self._value = v
        with open("%s/pins/%d.out" % (CAPTURE_DIR, self.id), "w") as f:
            f.write("%d" % v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout

    def feed(self):
        pass


def reset_cause():
    return 1  # PWRON_RESET


PWRON_RESET = 1
