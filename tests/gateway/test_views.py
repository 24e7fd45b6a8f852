"""Screens' views from the state: pure functions."""

from __future__ import annotations

from gateway.dispatch import Recall
from gateway.hub import ViewHub
from gateway.views import add_call, counter_view, hall_view, recent_calls


def test_hall_view_shows_calls_counters_and_waiting(desk):
    desk.issue("A")
    desk.issue("A")
    desk.issue("B")
    desk.issue("A", "cao_tuoi")
    desk.call(1)  # the priority one first
    view = hall_view(desk.state, [("A003", 1), ("A001", 2)])
    assert view["calls"] == [{"ticket": "A003", "counter": 1, "priority": "Người cao tuổi"},
                             {"ticket": "A001", "counter": 2, "priority": None}]  # fmt: skip
    assert view["counters"] == [{"counter": 1, "ticket": "A003", "status": "open"}]
    assert [(w["code"], w["count"]) for w in view["waiting"]] == [("A", 2), ("B", 1), ("C", 0)]
    assert counter_view(desk.state, 1) == {"text": "A003", "status": "open"}
    assert counter_view(desk.state, 2) == {"text": "", "status": "open"}


def test_a_recall_moves_its_call_back_to_the_top(desk):
    for _ in range(3):
        desk.issue("A")
    desk.call(1)
    desk.call(2)
    desk(Recall(1))
    assert recent_calls(desk.events) == [("A001", 1), ("A002", 2)]


def test_add_call_keeps_the_latest_six():
    calls = []
    for n in range(8):
        calls = add_call(calls, (f"A{n:03d}", 1))
    assert [t for t, _ in calls] == ["A007", "A006", "A005", "A004", "A003", "A002"]


def test_hub_streams_only_newer_views():
    hub = ViewHub()
    assert hub.wait("hall", 0, timeout=0.01) is None
    hub.publish("hall", {"n": 1})
    version, view = hub.wait("hall", 0, timeout=0.01)
    assert view == {"n": 1}
    assert hub.wait("hall", version, timeout=0.01) is None
    hub.close()
    assert hub.wait("hall", 0, timeout=1) is None


def test_ticket_view_counts_who_is_before_it(desk):
    from gateway.views import ticket_view

    a1, a2 = desk.issue("A"), desk.issue("A")
    p = desk.issue("A", "cao_tuoi")
    view = ticket_view(desk.state, desk.state.day, a2, desk.now)
    assert (view["state"], view["text"], view["ahead"]) == ("waiting", "Đang chờ", 2)  # A001 and the priority one
    assert ticket_view(desk.state, desk.state.day, p, desk.now)["ahead"] == 0
    desk.call(1)
    called = ticket_view(desk.state, desk.state.day, p, desk.now)
    assert called["text"] == "Đã gọi — mời đến quầy 1" and "ahead" not in called
    assert ticket_view(desk.state, desk.state.day, a1, desk.now)["serving"] == [{"counter": 1, "ticket": p}]
    assert ticket_view(desk.state, "2026-01-01", a1, desk.now) is None  # another day's ticket
    assert ticket_view(desk.state, desk.state.day, "Z999", desk.now) is None
