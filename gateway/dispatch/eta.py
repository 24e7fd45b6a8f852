"""The estimated wait printed on a new ticket: a range, or honestly unknown.

The estimate has two parts.

1. A point: `(ahead + ½) × counter time ÷ capacity`. Counter time is the mean
   time a counter spends on one citizen of the service, from the call to the
   completion, over today's completed services once `eta_min_samples` are
   observed, else the service's configured `prior_minutes`; with neither the
   estimate is unknown. Capacity counts the open counters serving the service
   (state.FIRST_TIER_WEIGHT); with none open it is unknown. The ½ is the part
   of a service already under way at the counter that will free up first.
2. A range calibrated on today: every ticket's real wait, once it is called,
   is divided by its point and kept in a sorted list. The range printed is
   the point times the 15th and the 85th percentile of those ratios, so most
   tickets are called inside their range whatever the point gets wrong
   (shared counters, priority arrivals, lunch). Until `CALIBRATION_MIN`
   tickets have been called it uses `DEFAULT_RATIOS`. Bounds are rounded
   outward to whole 5 minutes.
"""

from __future__ import annotations

import math

from .state import State

STEP_MIN = 5
CALIBRATION_MIN = 20
DEFAULT_RATIOS = (0.5, 1.6)
LOW_QUANTILE, HIGH_QUANTILE = 0.15, 0.85

Estimate = tuple[int | None, int | None, float | None]  # (low, high, point), minutes


def estimate(state: State, service: str, ahead: int) -> Estimate:
    capacity = state.capacity[service]
    if capacity <= 0.0:
        return None, None, None
    s = state.stats[service]
    if s.served >= state.config.rules.eta_min_samples:
        mean = s.mean_min
    else:
        mean = state.services[service].prior_minutes
        if mean is None:
            return None, None, None
    point = (ahead + 0.5) * mean / capacity
    ratios = state.eta_ratios
    n = len(ratios)
    if n >= CALIBRATION_MIN:
        low_f, high_f = ratios[int(LOW_QUANTILE * (n - 1))], ratios[math.ceil(HIGH_QUANTILE * (n - 1))]
    else:
        low_f, high_f = DEFAULT_RATIOS
    low = int(point * low_f // STEP_MIN) * STEP_MIN
    high = math.ceil(point * high_f / STEP_MIN) * STEP_MIN
    return low, (high if high > low else low + STEP_MIN), point
