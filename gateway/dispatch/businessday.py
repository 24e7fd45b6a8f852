"""The business day: numbers restart at local midnight in the center's time zone.

Only the start of a new day needs the calendar; within a day the core compares
the command's time with the epoch of the next midnight, which it keeps. The
day never goes backwards: a command timed before the current day (a clock
corrected by NTP, say) is taken into the current day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def day_of(now: float, tz: str) -> tuple[str, float]:
    """(ISO date, epoch of the following local midnight) for an epoch time."""
    zone = _zone(tz)
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)
    return local.date().isoformat(), midnight.timestamp()


def opening_since(now: float, tz: str, hours: tuple[tuple[str, str], ...], days: tuple[int, ...]) -> float | None:
    """The epoch at which the opening span `now` falls in began (hours "HH:MM" local, days ISO
    weekdays), or None when the center is closed: the fleet's alerts and a stalled hall's clock."""
    local = datetime.fromtimestamp(now, _zone(tz))
    if local.isoweekday() not in days:
        return None
    hhmm = local.strftime("%H:%M")
    for start, end in hours:
        if start <= hhmm < end:
            return local.replace(hour=int(start[:2]), minute=int(start[3:]), second=0, microsecond=0).timestamp()
    return None
