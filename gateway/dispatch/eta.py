"""The estimated wait printed on a new ticket: a range, or honestly unknown.

The wait until a ticket is called is about `ahead × mean service time ÷
capacity`, where capacity counts the open counters that serve the service
(see state.FIRST_TIER_WEIGHT). The mean comes from today's completed services
once `eta_min_samples` are observed, else from the service's configured
`prior_minutes`; with neither, or with no open counter, the estimate is
unknown and the ticket says so rather than inventing a figure. The range
widens with the spread of service times (a sum of `ahead` service times
spreads like √ahead) and is rounded outward to whole 5 minutes.
"""

from __future__ import annotations

import math

from .state import State

STEP_MIN = 5
PRIOR_CV = 0.5  # spread assumed for a configured prior: sd = half the mean
MIN_SPREAD = 0.2  # the range is never narrower than ±20 % of the point estimate


def estimate(state: State, service: str, ahead: int) -> tuple[int | None, int | None]:
    capacity = state.capacity[service]
    if capacity <= 0.0:
        return None, None
    s = state.stats[service]
    if s.served >= state.config.rules.eta_min_samples:
        mean, sd = s.mean_min, s.sd_min
    else:
        prior = state.services[service].prior_minutes
        if prior is None:
            return None, None
        mean, sd = prior, prior * PRIOR_CV
    point = ahead * mean / capacity
    spread = sd * math.sqrt(ahead or 1) / capacity
    if spread < MIN_SPREAD * point:
        spread = MIN_SPREAD * point
    low = int((point - spread) // STEP_MIN) * STEP_MIN
    high = math.ceil((point + spread) / STEP_MIN) * STEP_MIN
    return (low if low > 0 else 0), (high if high > STEP_MIN else STEP_MIN)
