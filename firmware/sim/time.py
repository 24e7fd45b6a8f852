# A stand-in for the `time` module of an ESP32 whose RTC nobody has set. The unix port's built-in
# follows the host's clock, which a real board does not have: on an ESP32 time.time() counts
# whole seconds from 2000-01-01 (the port's epoch) at power-up. This module does the same, so a
# board here judges commands as a real one must (by the gateway's time, firmware/app/clock.py).
# Everything else is the built-in's; machine.RTC (firmware/sim/machine.py) sets what time() says.
import sys

_saved_path, _mine = sys.path, sys.modules.pop("time")
sys.path = []  # the built-in, not this file
import time as _real  # noqa: E402

sys.path, sys.modules["time"] = _saved_path, _mine

EPOCH_2000 = 946684800  # 2000-01-01 in Unix seconds: the ESP32 port's epoch
_start_ns = _real.time_ns()
_offset = 0  # seconds since 2000 at power-up (machine.RTC().datetime(...) changes it)

sleep, sleep_ms, sleep_us = _real.sleep, _real.sleep_ms, _real.sleep_us
ticks_ms, ticks_us, ticks_cpu = _real.ticks_ms, _real.ticks_us, _real.ticks_cpu
ticks_add, ticks_diff = _real.ticks_add, _real.ticks_diff


def time_ns():
    return _offset * 1_000_000_000 + _real.time_ns() - _start_ns


def time():
    return time_ns() // 1_000_000_000


def gmtime(secs=None):
    """(year, month, mday, hour, minute, second, weekday, yearday), as on an ESP32."""
    return _real.gmtime(EPOCH_2000 + (time() if secs is None else int(secs)))[:8]


localtime = gmtime


def mktime(t):
    return int(_real.mktime(tuple(t[:8]) + (0,) * (9 - len(t[:8])))) - EPOCH_2000


def _set(secs):
    global _offset
    _offset += int(secs) - time()
