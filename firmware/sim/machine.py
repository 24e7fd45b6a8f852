# A stand-in for MicroPython's `machine` module on the unix port, for the tests: it sits below
# the firmware's own drivers, which run unchanged. UART bytes go to a file (the printed ticket),
# so a test can decode exactly what a printer would have received.
import os
import time

CAPTURE_DIR = os.getenv("HANGCHO_CAPTURE") or "."
# A logic analyser on some output pins (HANGCHO_TRACE_PINS="12,11"): each write to one of them
# appends "gpio value" to pins.trace, so a test can decode a bit-banged bus such as the TM1637's.
_TRACED = [int(p) for p in (os.getenv("HANGCHO_TRACE_PINS") or "").split(",") if p]
_trace = open(CAPTURE_DIR + "/pins.trace", "a") if _TRACED else None  # noqa: SIM115 (open for the run)


class UART:
    def __init__(self, id, baudrate=9600, tx=None, rx=None, **kwargs):
        self.id, self.baudrate = id, baudrate
        self._path = "%s/uart%d.bin" % (CAPTURE_DIR, id)

    def write(self, data):
        with open(self._path, "ab") as f:
            f.write(data)
        return len(data)

    def read(self, n=-1):
        """What the printer answered: the test writes it to uart<id>.reply (e.g. paper status)."""
        try:
            with open(self._path[:-4] + ".reply", "rb") as f:
                return f.read() or None
        except OSError:
            return None

    def any(self):
        data = self.read()
        return len(data) if data else 0


_outputs = {}  # gpio -> last value written: a keypad's column reads the row that drives it


def _matrix_low(col):
    """A key held in the keypad matrix (file `matrix`: "row col" per line) pulls its column low
    while its row is driven low."""
    try:
        with open(CAPTURE_DIR + "/matrix") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and int(parts[1]) == col and _outputs.get(int(parts[0])) == 0:
                    return True
    except OSError:
        pass
    return False


class SPI:
    """Bytes written while a chip select is low go to spi<id>.bin (a display's registers)."""

    def __init__(self, id, baudrate=1000000, sck=None, mosi=None, miso=None, **kwargs):
        self._path = "%s/spi%d.bin" % (CAPTURE_DIR, id)

    def write(self, data):
        with open(self._path, "ab") as f:
            f.write(data)


class Pin:
    """A GPIO. An input reads the file pins/<id> if a test wrote one ("0" = pressed, active low
    with the pull-up), else 1; an output keeps its value (the keypad's columns read the rows)."""

    IN, OUT, PULL_UP = 0, 1, 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id, self.mode = id, mode
        self._value = 1
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return self._value
            if _matrix_low(self.id):
                return 0
            try:
                with open("%s/pins/%d" % (CAPTURE_DIR, self.id)) as f:
                    return int(f.read().strip() or "1")
            except (OSError, ValueError):
                return 1
        self._value = v
        _outputs[self.id] = v
        if _trace and self.id in _TRACED:
            _trace.write("%d %d\n" % (self.id, v))
            _trace.flush()

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


def reset():
    """A hard reset: the virtual board (firmware/sim/vboard.py) sees its process end and boots
    it again, running main.py from the flash folder like a board at power-up."""
    os.system("kill -9 $PPID")


class RTC:
    """The ESP32's real-time clock: (year, month, day, weekday, hours, minutes, seconds, subseconds).
    It starts in 2000 at power-up; the firmware leaves it alone (its clock is the gateway's)."""

    def datetime(self, t=None):
        if t is None:
            y, mo, d, h, mi, s, wd, _ = time.gmtime()
            return (y, mo, d, wd, h, mi, s, 0)
        time._set(time.mktime((t[0], t[1], t[2], t[4], t[5], t[6], 0, 0)))

    def init(self, t):
        self.datetime(t)
