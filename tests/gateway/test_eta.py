"""The estimated wait printed on a ticket: the expected path of the hall, a range calibrated on
today's real waits, or unknown (gateway/dispatch/eta.py)."""

from __future__ import annotations

import math

import pytest

from gateway.dispatch import CloseCounter, Complete, IssueTicket, StartService
from gateway.dispatch.eta import CALIBRATION_MIN, DEFAULT_ERRORS, MAX_AHEAD, estimate, queue_estimates, scale


def test_unknown_without_an_open_counter_for_the_service(desk):
    for n in (1, 2):
        desk(CloseCounter(n))
    d = desk(IssueTicket("A"))
    assert (d.events[0].eta_low_min, d.events[0].eta_high_min) == (None, None)


def test_unknown_without_a_prior_or_observed_services(desk):
    d = desk(IssueTicket("C"))  # service C has no prior_minutes and nothing served yet
    assert d.events[0].eta_low_min is None and d.events[0].eta_point_min is None


def test_the_point_is_when_a_counter_takes_the_ticket_on_the_expected_path(desk):
    """Counter 1 takes A first, counter 2 takes B first and A after: with three A and no B
    waiting, both take A at once, then every 5 minutes (A's prior): the fourth A is taken by the
    first counter free after two turns, at 5 minutes."""
    for _ in range(3):
        desk.issue("A")
    assert estimate(desk.state, "A", 3, desk.now)[2] == pytest.approx(5.0)
    for _ in range(4):  # four B now come first at counter 2: counter 1 alone takes the A
        desk.issue("B")
    assert estimate(desk.state, "A", 3, desk.now)[2] == pytest.approx(15.0)


def test_a_busy_counter_is_free_when_its_citizen_is_expected_to_finish(desk):
    desk(CloseCounter(2))
    desk.issue("A")
    desk.call(1, after=0)  # called now: free in A's 5 minutes
    assert estimate(desk.state, "A", 0, desk.now)[2] == pytest.approx(5.0)
    desk.now += 4 * 60
    assert estimate(desk.state, "A", 0, desk.now)[2] == pytest.approx(1.0)
    desk.now += 10 * 60  # past its mean: taken as at least 30 s more
    assert estimate(desk.state, "A", 0, desk.now)[2] == pytest.approx(0.5)


def test_observed_counter_time_replaces_the_prior(desk):
    desk(CloseCounter(2))
    for _ in range(3):  # eta_min_samples = 3 in the test center
        desk.issue("A")
        desk.call(1)
        desk(StartService(1), after=60)
        desk(Complete(1), after=9 * 60)  # 10 minutes from call to completion
    assert round(desk.state.stats["A"].mean_min, 3) == 10.0
    desk.now += 3 * 3600  # the arrivals above are out of the rate's hour
    assert estimate(desk.state, "A", 1, desk.now)[2] == pytest.approx(10.0)


def test_a_priority_ticket_waits_behind_the_normal_ones_past_the_guard(desk):
    desk(CloseCounter(2))
    for _ in range(3):
        desk.issue("A")
    desk.now += 31 * 60  # past the test center's 30-minute starvation guard
    for _ in range(3):
        desk.issue("A")
    # behind the three old ones, and a third of the three young (priority_limit 2: two of three turns)
    point = estimate(desk.state, "A", 0, desk.now, priority=True)[2]
    normal = estimate(desk.state, "A", 6, desk.now)[2]
    assert 3 * 5.0 <= point < normal


def test_the_arrival_rate_of_the_last_hour_goes_on(desk):
    desk(CloseCounter(2))
    for _ in range(20):  # twenty B in the last hour: counter 1 takes A before B, so A is not slowed
        desk.issue("B", after=60)
    desk.issue("A")
    desk.call(1, after=0)  # counter 1 busy for A's 5 minutes
    assert estimate(desk.state, "A", 0, desk.now)[2] == pytest.approx(5.0)
    # thirty priority A in the last hour (each served at once): in the 5 minutes, 2.5 more come,
    # and go before a new normal A
    desk.state.priority_arrivals["A"][:] = [desk.now - 120 * k for k in range(30, 0, -1)]
    later = estimate(desk.state, "A", 0, desk.now)[2]
    assert later >= 10.0
    desk.state.priority_arrivals["A"][:] = [t - 3600 for t in desk.state.priority_arrivals["A"]]  # an hour ago
    assert estimate(desk.state, "A", 0, desk.now)[2] == pytest.approx(5.0)


def test_range_is_calibrated_on_todays_real_waits_normal_and_priority_apart(desk):
    state = desk.state
    point = estimate(state, "A", 10, desk.now)[2]
    assert len(state.eta_errors[False]) < CALIBRATION_MIN
    unit = scale(point)
    low, high = point + DEFAULT_ERRORS[0] * unit, point + DEFAULT_ERRORS[1] * unit
    step = 1 if high <= 30 else 5
    default = estimate(state, "A", 10, desk.now)[:2]
    assert default == (int(low // step * step), math.ceil(high / step) * step)
    state.eta_errors[False][:] = [3.0] * CALIBRATION_MIN  # every wait so far was 3 units late
    low, high, _ = estimate(state, "A", 10, desk.now)
    assert low <= point + 3 * unit <= high and low > point
    # no normal ticket waits, so a priority one has the same point, and keeps the default range
    assert estimate(state, "A", 10, desk.now, priority=True)[:2] == default


def test_real_waits_feed_the_calibration(desk):
    a = desk.issue("A")
    desk.call(1, after=6 * 60)
    t = desk.ticket(a)
    assert desk.state.eta_errors == {False: [pytest.approx((6.0 - t.eta_point) / scale(t.eta_point))], True: []}


def test_a_resent_press_prints_the_same_estimate(desk):
    first = desk(IssueTicket("A", key="kiosk:1:1"))
    desk.issue("A")
    again = desk(IssueTicket("A", key="kiosk:1:1"))
    assert again.events == first.events


def test_bounds_are_whole_minutes_then_whole_five_and_never_zero_behind_busy_counters(desk):
    for _ in range(12):
        desk.issue("B")
    for counter in (1, 2):
        desk.call(counter, after=0)
    for ahead in range(0, 40, 3):
        low, high, _ = estimate(desk.state, "B", ahead, desk.now)
        assert high > low >= 0 and (high <= 30 or (low % 5 == 0 and high % 5 == 0)), (ahead, low, high)
        assert ahead == 0 or low >= 1, (ahead, low, high)  # people ahead, both counters busy


def test_a_queue_longer_than_a_hall_holds_takes_the_fluid_point(desk):
    """Past MAX_AHEAD the path is not played: the cost of an estimate stays bounded."""
    ahead = MAX_AHEAD + 1
    point = estimate(desk.state, "A", ahead, desk.now)[2]
    assert point == pytest.approx((ahead + 0.5) * 5.0 / 1.5)  # counter 1 whole, counter 2 half


def test_the_live_page_has_one_path_for_the_whole_queue_and_the_same_points(desk):
    """queue_estimates (the snapshot's, one pass) gives the k-th waiting ticket the point a new
    ticket with k ahead would get, arrivals aside."""
    for code in "ABABAAB":
        desk.issue(code)
    desk.call(1, after=0)
    desk.now += 2 * 3600  # the arrivals are out of the rate's hour: a path without them
    places = queue_estimates(desk.state, desk.now)
    for code in "AB":
        waiting = desk.state.queues[code].waiting
        assert len(places[code]) == waiting
        assert [p[2] for p in places[code]] == [pytest.approx(estimate(desk.state, code, k, desk.now)[2])
                                                 for k in range(waiting)]  # fmt: skip
    assert places["C"] == []
