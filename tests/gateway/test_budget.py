"""Rate budgets per board (gateway/budget.py): token buckets, the drain reserve, the pacer, and
their place in the dispatcher: a new press beyond the budget is refused and issues nothing, a
resend is always answered and costs nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.validation import ConfigError
from gateway.budget import DRAIN_WINDOW_S, Bucket, Budgets, Limit, Pacer, full, opened, take
from gateway.config import BudgetRules, center_from_dict
from gateway.dispatch import IssueTicket
from gateway.dispatch.errors import OverBudget
from gateway.dispatcher import Dispatcher
from tests.conftest import MORNING, SMALL_CENTER_FILE

LIMIT = Limit(rate=1.0, burst=5, drain=64)


def spend(bucket: Bucket, limit: Limit, times: list[float]) -> tuple[Bucket, list[bool]]:
    answers = []
    for t in times:
        bucket, ok = take(bucket, limit, t)
        answers.append(ok)
    return bucket, answers


def test_a_burst_then_the_rate():
    bucket = full(Limit(1.0, 5), MORNING)
    bucket, answers = spend(bucket, Limit(1.0, 5), [MORNING] * 7)
    assert answers == [True] * 5 + [False] * 2
    bucket, answers = spend(bucket, Limit(1.0, 5), [MORNING + 0.5, MORNING + 1.0, MORNING + 1.5, MORNING + 2.0])
    assert answers == [False, True, False, True]  # one token a second, no more


def test_presses_at_the_rate_are_never_refused():
    bucket = Bucket(0.0, 0.0, MORNING)  # even from empty
    _, answers = spend(bucket, LIMIT, [MORNING + 1 + i for i in range(500)])
    assert all(answers)


def test_a_clock_set_back_refills_nothing_and_starves_nobody():
    limit = Limit(1.0, 5)
    bucket, _ = spend(full(limit, MORNING), limit, [MORNING] * 5)
    back = MORNING - 3600  # NTP corrected the clock by an hour
    bucket, ok = take(bucket, limit, back)
    assert not ok
    bucket, ok = take(bucket, limit, back + 1)
    assert ok, "the bucket refills from the new time, not an hour later"


def test_the_reserve_is_spent_only_after_coming_back():
    quiet = Bucket(5.0, 64.0, MORNING)  # a board that has been idle: burst and reserve full
    _, answers = spend(quiet, LIMIT, [MORNING + 1] * 69)
    assert answers.count(True) == 5, "connected all along: its burst only"
    back = opened(quiet, LIMIT, MORNING + 1)
    _, answers = spend(back, LIMIT, [MORNING + 1] * 70)
    assert answers.count(True) == 69, "back from away: a whole outbox (64) beyond its burst"
    _, answers = spend(back, LIMIT, [MORNING + 2 + DRAIN_WINDOW_S] * 69)
    assert answers.count(True) == 5, "the window is over"


def test_the_reserve_refills_only_while_the_board_is_quiet():
    limit = Limit(1.0, 5, drain=500)
    bucket, answers = spend(Bucket(0.0, 0.0, MORNING), limit, [MORNING + i for i in range(1, 120)])
    assert all(answers)  # a press a second, at the rate: nothing is saved
    assert bucket.reserve == 0
    later = opened(bucket, limit, MORNING + 219)  # then quiet for 100 s
    assert later.tokens == 5 and later.reserve == pytest.approx(100 - 5)
    assert opened(bucket, limit, MORNING + 10_000).reserve == 500, "never more than `drain`"


def test_an_offline_kiosks_outbox_is_never_refused_when_it_comes_back():
    """A kiosk out of the network for ten minutes while 64 citizens pressed (its outbox is full)
    sends all 64 at once on reconnecting, after its `online`."""
    rules = BudgetRules()
    budgets = Budgets(rules, {"kiosk-1": "press"}, MORNING)
    t = MORNING + DRAIN_WINDOW_S + 1  # long after the gateway's start: no window open
    assert all(budgets.take("kiosk-1", t) for _ in range(3))  # presses before the Wi-Fi went
    away_until = t + 600
    budgets.back("kiosk-1", away_until)
    assert all(budgets.take("kiosk-1", away_until) for _ in range(64))
    left = sum(budgets.take("kiosk-1", away_until) for _ in range(10))
    assert left == rules.press_burst + rules.drain - 64, "and no more than burst + drain"


def test_a_flooding_board_gets_burst_and_drain_once_then_the_rate():
    rules = BudgetRules()
    budgets = Budgets(rules, {"kiosk-2": "press"}, MORNING)  # the gateway just started: window open
    granted = 0
    for i in range(10_000):  # 10 s at 1,000 new presses a second, announcing itself `online` too
        t = MORNING + i / 1000
        if i % 100 == 0:
            budgets.back("kiosk-2", t)
        granted += budgets.take("kiosk-2", t)
    assert granted <= rules.press_burst + rules.drain + 10 * rules.press_per_s + 1
    assert granted >= rules.press_burst + rules.drain


def test_saved_budgets_restore_exactly():
    budgets = Budgets(BudgetRules(), {"kiosk-1": "press", "counter-1": "key"}, MORNING)
    saved = budgets.saved()
    for _ in range(100):
        budgets.take("kiosk-1", MORNING)
    budgets.restore(saved)
    assert budgets.buckets == saved
    assert budgets.take("hall-1", MORNING), "a board without events has no bucket to run out of"


def test_the_pacer_allows_once_a_minute_and_remembers_the_rest():
    pacer = Pacer(60)
    assert pacer.ask("kiosk-1", 0)
    assert not pacer.ask("kiosk-1", 10)
    assert not pacer.ask("kiosk-1", 20)
    assert pacer.ask("kiosk-2", 20), "each key on its own"
    assert pacer.due(59) == []
    assert pacer.next_due(59) == pytest.approx(1)
    assert pacer.due(60) == ["kiosk-1"]
    assert pacer.due(200) == [], "done once: not again"
    assert not pacer.ask("kiosk-1", 61)
    pacer.forget("kiosk-1")
    assert pacer.due(200) == []


# -- the dispatcher asks for budget only for new ids ------------------------------------------------
def _dispatcher(center, tmp_path, press_burst: int = 2) -> tuple[Dispatcher, Budgets]:
    budgets = Budgets(BudgetRules(press_per_s=1.0, press_burst=press_burst, drain=0), {"kiosk-1": "press"}, MORNING)
    return Dispatcher.open(center, tmp_path / "journal.db"), budgets


def _admit(budgets: Budgets, now: float):
    def admit(i: int) -> None:
        if not budgets.take("kiosk-1", now):
            raise OverBudget("Bấm quá nhanh", "over budget")

    return admit


def test_over_budget_issues_nothing_and_a_resend_is_answered_free(center, tmp_path):
    dispatcher, budgets = _dispatcher(center, tmp_path)
    presses = [(IssueTicket("A", source="kiosk-1", key=f"kiosk-1:1:{n}"), MORNING) for n in range(1, 5)]
    outcomes = dispatcher.handle_many(presses, _admit(budgets, MORNING))
    assert [type(o).__name__ for o in outcomes] == ["Decision", "Decision", "OverBudget", "OverBudget"]
    assert outcomes[2].code == "over_budget"
    assert len(dispatcher.state.tickets) == 2, "nothing issued beyond the budget"
    again = dispatcher.handle_many(presses[:2] * 3, _admit(budgets, MORNING))  # resends, while still over budget
    assert all(o.duplicate for o in again)
    assert [o.events[-1].ticket for o in again] == [o.events[-1].ticket for o in outcomes[:2]] * 3
    dispatcher.close()


def test_a_resend_inside_one_group_costs_once(center, tmp_path):
    dispatcher, budgets = _dispatcher(center, tmp_path, press_burst=1)
    press = (IssueTicket("A", source="kiosk-1", key="kiosk-1:1:1"), MORNING)
    outcomes = dispatcher.handle_many([press, press, press], _admit(budgets, MORNING))
    assert not outcomes[0].duplicate and outcomes[1].duplicate and outcomes[2].duplicate
    dispatcher.close()


def test_a_resend_from_before_a_restart_costs_nothing(center, tmp_path):
    dispatcher, budgets = _dispatcher(center, tmp_path, press_burst=1)
    press = (IssueTicket("A", source="kiosk-1", key="kiosk-1:1:1"), MORNING)
    first = dispatcher.handle_many([press], _admit(budgets, MORNING))[0]
    dispatcher.close()
    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    dispatcher.state.seen.clear()  # as if from another day: only the journal knows the key
    again = dispatcher.handle_many([press], _admit(budgets, MORNING))[0]  # the budget is empty now
    assert again.duplicate and again.events == first.events
    dispatcher.close()


# -- the configuration -----------------------------------------------------------------------------
def _center(budgets: dict) -> dict:
    import tomllib

    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))
    data["budgets"] = budgets
    return data


def test_budgets_have_defaults_and_can_be_set():
    assert center_from_dict(_center({})).budgets == BudgetRules()
    rules = center_from_dict(_center({"press_per_s": 2, "key_burst": 30, "drain": 0})).budgets
    assert (rules.press_per_s, rules.key_burst, rules.drain, rules.press_burst) == (2.0, 30, 0, 5)


@pytest.mark.parametrize(
    ("budgets", "key", "reason"),
    [
        ({"press_per_s": 0}, "budgets.press_per_s", "positive"),
        ({"key_per_s": float("nan")}, "budgets.key_per_s", "positive"),
        ({"press_burst": 0}, "budgets.press_burst", "≥ 1"),
        ({"drain": -1}, "budgets.drain", "≥ 0"),
        ({"messages_burst": 1.5}, "budgets.messages_burst", "int"),
        ({"press_per_minute": 3}, "budgets.press_per_minute", "unknown key"),
        ({"press_per_s": True}, "budgets.press_per_s", "expected"),
    ],
)
def test_a_wrong_budget_names_its_key(budgets, key, reason):
    with pytest.raises(ConfigError) as e:
        center_from_dict(_center(budgets), source="center.toml")
    assert e.value.key == key and reason in e.value.reason and str(e.value).startswith("center.toml: ")


def test_the_drain_reserve_is_the_firmware_outbox():
    """`budgets.drain` must hold a whole outbox, or a kiosk back from an outage loses tickets."""
    outbox = (Path(__file__).resolve().parents[2] / "firmware" / "app" / "outbox.py").read_text()
    assert BudgetRules().drain >= int(re.search(r"MAX_PENDING = const\((\d+)\)", outbox).group(1))
