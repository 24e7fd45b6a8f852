"""How the printed wait ranges are scored (gateway.simulation.eta_scores), and the estimate
held to the issue's targets over quiet and overloaded simulated days (the figures of `make bench`)."""

from __future__ import annotations

import pytest

from bench.run import eta_accuracy
from gateway.dispatch import eta
from gateway.simulation import eta_scores, interval_score


def test_the_interval_score_is_the_width_plus_the_misses_weighted_by_two_over_alpha():
    assert interval_score(10, 20, 15, 0.2) == 10
    assert interval_score(10, 20, 8, 0.2) == pytest.approx(10 + 10 * 2)  # 2 minutes early: 2 × 2 / 0.2
    assert interval_score(10, 20, 23, 0.5) == pytest.approx(10 + 4 * 3)


def test_scores_count_called_tickets_with_a_range(desk):
    inside, late = desk.issue("A"), desk.issue("A")
    desk.ticket(inside).eta, desk.ticket(late).eta = (0, 10), (20, 40)
    desk.call(1, after=5 * 60)  # both called 5 minutes after they came: one inside, one early
    desk.call(2, after=0)
    desk.issue("A")  # never called: no wait to score
    scores = eta_scores([desk.state], nominal=0.8)
    assert scores["eta_within_range_pct"] == 50.0
    assert scores["eta_median_width_min"] == 15.0
    assert scores["eta_width_ratio"] == pytest.approx((10 / 20 + 20 / 30) / 2)
    wait_late = (desk.ticket(late).first_called_at - desk.ticket(late).arrived_at) / 60
    assert scores["eta_interval_score_min"] == pytest.approx((10 + 20 + 10 * (20 - wait_late)) / 2)


def test_over_mixed_days_the_range_covers_80_percent_and_is_narrow(monkeypatch):
    """The demo center's quiet, busy and overloaded days (bench.run.ETA_LOADS), 10 seeds each:
    the issue's targets, and the expected path scores better than the fluid point alone."""
    scores = eta_accuracy(10)
    assert scores["eta_within_range_pct"] >= 80.0, scores
    assert scores["eta_width_ratio"] <= 0.5, scores
    monkeypatch.setattr(eta, "_expected_path", lambda *args: None)
    fluid = eta_accuracy(10)
    assert scores["eta_interval_score_min"] < 0.8 * fluid["eta_interval_score_min"], (scores, fluid)
    assert scores["eta_mae_min"] < fluid["eta_mae_min"], (scores, fluid)
