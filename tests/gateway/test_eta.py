"""The estimated wait printed on a ticket: a range from today's figures, or unknown."""

from __future__ import annotations

from gateway.dispatch import CloseCounter, Complete, IssueTicket, StartService
from gateway.dispatch.eta import CALIBRATION_MIN, estimate


def test_unknown_without_an_open_counter_for_the_service(desk):
    for n in (1, 2):
        desk(CloseCounter(n))
    d = desk(IssueTicket("A"))
    assert (d.events[0].eta_low_min, d.events[0].eta_high_min) == (None, None)


def test_unknown_without_a_prior_or_observed_services(desk):
    d = desk(IssueTicket("C"))  # service C has no prior_minutes and nothing served yet
    assert d.events[0].eta_low_min is None and d.events[0].eta_point_min is None


def test_prior_gives_the_first_range(desk):
    for _ in range(3):
        desk.issue("A")
    # A: counter 1 (first tier, weight 1) + counter 2 (second tier, ½) → capacity 1.5.
    # point = (3 + ½) × 5 min ÷ 1.5 ≈ 11.7 min; before calibration the range is × 0.5 … × 1.6.
    low, high, point = estimate(desk.state, "A", 3)
    assert round(point, 2) == 11.67
    assert (low, high) == (5, 20)


def test_observed_counter_time_replaces_the_prior(desk):
    for _ in range(3):  # eta_min_samples = 3 in the test center
        desk.issue("A")
        desk.call(1)
        desk(StartService(1), after=60)
        desk(Complete(1), after=9 * 60)  # 10 minutes from call to completion
    assert round(desk.state.stats["A"].mean_min, 3) == 10.0
    _, _, point = estimate(desk.state, "A", 0)
    assert round(point, 3) == round(0.5 * 10 / 1.5, 3)


def test_range_is_calibrated_on_todays_real_waits(desk):
    state = desk.state
    _, _, point = estimate(state, "A", 10)
    assert len(state.eta_ratios) < CALIBRATION_MIN
    default_range = estimate(state, "A", 10)[:2]
    state.eta_ratios[:] = sorted([2.0] * CALIBRATION_MIN)  # every wait so far was twice its estimate
    low, high, _ = estimate(state, "A", 10)
    assert low <= 2 * point <= high
    assert (low, high) != default_range


def test_real_waits_feed_the_calibration(desk):
    a = desk.issue("A")
    desk.call(1, after=6 * 60)
    t = desk.ticket(a)
    assert desk.state.eta_ratios == [6.0 / t.eta_point]


def test_a_resent_press_prints_the_same_estimate(desk):
    first = desk(IssueTicket("A", key="kiosk:1:1"))
    desk.issue("A")
    again = desk(IssueTicket("A", key="kiosk:1:1"))
    assert again.events == first.events


def test_bounds_are_whole_five_minutes(desk):
    for ahead in range(0, 40, 3):
        low, high, _ = estimate(desk.state, "B", ahead)
        assert low % 5 == 0 and high % 5 == 0 and high > low >= 0
