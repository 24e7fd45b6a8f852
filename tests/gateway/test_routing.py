"""Who is called next: the rule of docs/dispatch.md, case by case."""

from __future__ import annotations

from gateway.dispatch import Transfer

P = "cao_tuoi"


def test_first_tier_before_older_tickets_of_a_lower_tier(desk):
    desk.issue("B")
    desk.issue("A")
    assert desk.call(1) == "A001"  # counter 1: tiers [A], [B]
    assert desk.call(2) == "B001"  # counter 2: tiers [B], [A]


def test_lower_tier_when_the_first_is_empty(desk):
    desk.issue("B")
    assert desk.call(1) == "B001"


def test_services_in_one_tier_are_served_oldest_first(center_with, desk_for):
    desk = desk_for(center_with(counters=[{"number": 9, "tiers": [["A", "B"]]}]))
    desk.issue("B")
    desk.issue("A")
    desk.issue("B")
    assert [desk.serve(9) for _ in range(3)] == ["B001", "A001", "B002"]


def test_priority_first_within_the_tier(desk):
    desk.issue("A")
    desk.issue("A", P)
    assert desk.call(1) == "A002"


def test_at_most_k_priority_calls_in_a_row(desk):
    for _ in range(2):
        desk.issue("A")
    for _ in range(4):
        desk.issue("A", P)
    called = [desk.serve(1) for _ in range(6)]
    assert [desk.ticket(t).priority is not None for t in called] == [True, True, False, True, True, False]


def test_one_priority_per_n_normal_calls(center_with, desk_for):
    desk = desk_for(center_with(priority_mode="ratio", priority_limit=2))
    for _ in range(6):
        desk.issue("A")
    for _ in range(3):
        desk.issue("A", P)
    kinds = ["P" if desk.ticket(desk.serve(1)).priority else "N" for _ in range(9)]
    assert "".join(kinds) == "PNNPNNPNN"


def test_priority_still_called_when_no_normal_ticket_waits(desk):
    for _ in range(3):
        desk.issue("A", P)
    called = [desk.serve(1) for _ in range(3)]  # the third exceeds the budget, but nobody else waits
    assert called == ["A001", "A002", "A003"]


def test_starvation_guard_bounds_how_far_a_priority_ticket_jumps(desk):
    desk.issue("A")  # A001, normal, at t0
    desk.issue("A", P, after=29 * 60)  # A002 arrives when A001 has waited 29 min (< 30): it may jump
    assert desk.serve(1) == "A002"
    desk.issue("A", P, after=2 * 60)  # A003 arrives when A001 has waited 31 min: it may not
    assert desk.call(1) == "A001"


def test_in_a_backlog_priority_tickets_still_go_before_later_normal_ones(desk):
    desk.issue("A")
    desk.issue("A", P)
    desk.issue("A")
    # Everyone has now waited far longer than the 30-minute guard; the priority ticket arrived
    # seconds after A001, so it still goes before it and before A003.
    assert desk.serve(1, after=3 * 3600) == "A002"
    assert [desk.serve(1), desk.serve(1)] == ["A001", "A003"]


def test_an_older_priority_ticket_needs_no_budget(desk):
    for _ in range(3):
        desk.issue("A", P)
    desk.issue("A")
    # The budget (2 in a row) limits jumps; A003 arrived before A004, so calling it is no jump.
    assert [desk.serve(1) for _ in range(4)] == ["A001", "A002", "A003", "A004"]


def test_a_transferred_ticket_keeps_its_arrival_time_in_the_new_service(desk):
    desk.issue("A")
    desk.issue("B")
    desk.issue("B")
    desk.call(1)
    desk(Transfer(1, to_service="B"))
    assert desk.call(2) == "A001"


def test_same_arrival_time_goes_by_issue_order(desk):
    desk.issue("A", after=0)
    desk.issue("A", after=0)
    assert desk.ticket("A001").arrived_at == desk.ticket("A002").arrived_at
    assert desk.call(1) == "A001"


def test_a_call_skips_tickets_that_left_the_queue(desk):
    # Many tickets cancelled or called elsewhere leave stale heap entries behind; the next
    # call still finds the oldest live ticket.
    from gateway.dispatch import Cancel

    ids = [desk.issue("A") for _ in range(50)]
    for t in ids[:-1]:
        desk(Cancel(t))
    assert desk.call(1) == ids[-1]
    assert desk.state.queues["A"].waiting == 0
