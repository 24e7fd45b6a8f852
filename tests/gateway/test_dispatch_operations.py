"""One test or a few per operation of the dispatch core."""

from __future__ import annotations

import pytest

from gateway.dispatch import (
    CallNext,
    CallTicket,
    Cancel,
    CloseCounter,
    Complete,
    IssueTicket,
    NoShow,
    OpenCounter,
    Park,
    PauseCounter,
    Rate,
    Recall,
    StartService,
    Transfer,
    Unpark,
    decide,
)
from gateway.dispatch import errors as err
from gateway.dispatch.events import TicketCalled, TicketIssued


def test_issue_numbers_each_service_from_its_first_number(desk):
    assert [desk.issue("A"), desk.issue("A"), desk.issue("B")] == ["A001", "A002", "B001"]
    t = desk.ticket("A002")
    assert (t.service, t.number, t.state, t.priority) == ("A", 2, "waiting", None)


def test_issue_records_priority_source_and_people_ahead(desk):
    desk.issue("A")
    desk.issue("A")
    d = desk(IssueTicket("A", "cao_tuoi", source="kiosk-1"))
    (issued,) = d.events
    assert (issued.priority, issued.source, issued.ahead) == ("cao_tuoi", "kiosk-1", 0)
    d = desk(IssueTicket("A"))
    assert d.events[0].ahead == 3


def test_same_idempotency_key_returns_the_first_ticket(desk):
    first = desk(IssueTicket("A", key="kiosk-1:3:17"))
    again = desk(IssueTicket("A", key="kiosk-1:3:17"))
    assert again.duplicate and again.events == first.events
    assert list(desk.state.tickets) == ["A001"]


def test_number_range_exhausted_is_refused(desk):
    for _ in range(5):
        desk.issue("C")
    with pytest.raises(err.NumberRangeExhausted, match="C"):
        desk.issue("C")
    assert len(desk.state.tickets) == 5


def test_call_next_takes_the_oldest_and_marks_the_counter(desk):
    desk.issue("A")
    desk.issue("A")
    assert desk.call(1) == "A001"
    t = desk.ticket("A001")
    assert (t.state, t.counter) == ("called", 1)
    assert desk.state.counters[1].current == "A001"


def test_call_next_with_nobody_waiting_changes_nothing(desk):
    before = desk.state.snapshot()
    assert desk(CallNext(1)).events == ()
    assert desk.state.snapshot() == before


def test_call_next_refused_while_counter_busy_or_not_open(desk):
    desk.issue("A")
    desk.issue("A")
    desk.call(1)
    with pytest.raises(err.IllegalTransition, match="A001"):
        desk(CallNext(1))
    desk(CloseCounter(2))
    with pytest.raises(err.IllegalTransition, match="đóng"):
        desk(CallNext(2))


def test_call_specific_ticket_out_of_order(desk):
    for _ in range(3):
        desk.issue("A")
    d = desk(CallTicket(1, "A003"))
    assert d.events == (TicketCalled(desk.now, "A003", 1, True),)
    assert desk.call(2) == "A001"


def test_recall_counts(desk):
    desk.issue("A")
    desk.call(1)
    desk(Recall(1))
    desk(Recall(1))
    assert desk.ticket("A001").recalls == 2


def test_start_and_complete_with_each_outcome(desk):
    for outcome, to in (("resolved", None), ("forwarded", "Chi nhánh Văn phòng đăng ký đất đai"), ("returned", None)):
        tid = desk.issue("A")
        desk.call(1)
        desk(StartService(1))
        assert desk.ticket(tid).state == "serving"
        desk(Complete(1, outcome, to), after=300)
        t = desk.ticket(tid)
        assert (t.state, t.outcome, t.forwarded_to, t.served_by) == ("done", outcome, to, 1)
    assert desk.state.counters[1].current is None
    assert desk.state.stats["A"].served == 3


def test_complete_needs_a_ticket_at_the_counter_and_a_valid_outcome(desk):
    with pytest.raises(err.IllegalTransition, match="hoàn tất"):
        desk(Complete(1))  # nobody called
    desk.issue("A")
    desk.call(1)
    desk(Complete(1))  # called, not started: completes (an untrained clerk skips "start")
    t = desk.state.tickets["A001"]
    assert t.state == "done" and t.started_at is None and t.served_by == 1
    desk.issue("A")
    desk.call(1)
    desk(StartService(1))
    with pytest.raises(err.MalformedCommand, match="outcome"):
        desk(Complete(1, "finished"))
    with pytest.raises(err.MalformedCommand, match="forwarded_to"):
        desk(Complete(1, "forwarded"))
    with pytest.raises(err.MalformedCommand, match="forwarded_to"):
        desk(Complete(1, "resolved", "Sở Tư pháp"))


def test_no_show_only_after_minimum_recalls(desk):
    desk.issue("A")
    desk.call(1)
    desk(Recall(1))
    with pytest.raises(err.IllegalTransition, match="2"):
        desk(NoShow(1))
    desk(Recall(1))
    desk(NoShow(1))
    assert desk.ticket("A001").state == "no_show"
    assert desk.state.counters[1].current is None


def test_no_show_requeued_keeps_its_place(desk):
    desk.issue("A")
    desk.issue("A")
    desk.call(1)
    desk(Recall(1))
    desk(Recall(1))
    desk(NoShow(1, requeue=True))
    assert desk.ticket("A001").state == "waiting"
    assert desk.call(1) == "A001"  # still the oldest arrival


def test_transfer_to_another_service_keeps_arrival_time(desk):
    desk.issue("B")  # B001 arrives later than A001 below? no: B001 first
    desk.issue("A")
    desk.issue("B")
    assert desk.call(1) == "A001"
    desk(StartService(1))
    desk(Transfer(1, to_service="B"))
    t = desk.ticket("A001")
    assert (t.state, t.service, t.transfers) == ("waiting", "B", 1)
    assert desk.state.waiting_in_order("B") == ["B001", "A001", "B002"]


def test_transfer_to_a_counter_goes_first_there(desk):
    desk.issue("B")
    desk.issue("A")
    desk.call(1)  # A001
    desk(Transfer(1, to_counter=2))
    assert desk.state.counters[1].current is None
    assert desk.call(2) == "A001"  # directed ticket beats B001 in counter 2's first tier


def test_transfer_needs_a_target(desk):
    desk.issue("A")
    desk.call(1)
    with pytest.raises(err.MalformedCommand):
        desk(Transfer(1))
    with pytest.raises(err.MalformedCommand):
        desk(Transfer(1, to_counter=1))
    with pytest.raises(err.UnknownService):
        desk(Transfer(1, to_service="Z"))


def test_park_and_unpark(desk):
    desk.issue("A")
    desk.issue("A")
    desk.call(1)
    desk(Park(1))
    assert desk.ticket("A001").state == "parked"
    assert desk.call(2) == "A002"
    desk(Unpark("A001"))
    assert desk.ticket("A001").state == "waiting"
    with pytest.raises(err.IllegalTransition):
        desk(Unpark("A001"))


def test_a_parked_ticket_can_be_called_by_number(desk):
    desk.issue("A")
    desk.call(1)
    desk(Park(1))
    desk(CallTicket(1, "A001"))
    assert desk.ticket("A001").state == "called"


def test_cancel_a_waiting_ticket(desk):
    desk.issue("A")
    desk.issue("A")
    desk(Cancel("A001", "Công dân về"))
    assert desk.ticket("A001").state == "cancelled"
    assert desk.call(1) == "A002"
    assert desk.state.queues["A"].waiting == 0
    with pytest.raises(err.IllegalTransition):
        desk(Cancel("A001"))


def test_counter_open_pause_close(desk):
    desk(PauseCounter(1))
    assert desk.state.counters[1].status == "paused"
    assert desk(PauseCounter(1)).events == ()  # already paused: nothing to record
    desk(OpenCounter(1))
    desk.issue("A")
    desk.call(1)
    with pytest.raises(err.IllegalTransition):
        desk(CloseCounter(1))


def test_rating_bound_to_ticket_and_counter(desk):
    desk.issue("A")
    desk.call(2)
    desk(StartService(2))
    desk(Complete(2))
    desk(Rate("A001", 4))
    t = desk.ticket("A001")
    assert (t.rating, t.rated_counter) == (4, 2)
    with pytest.raises(err.IllegalTransition):
        desk(Rate("A001", 5))


@pytest.mark.parametrize("score", [0, 6, 4.5, "5", True, None])
def test_rating_must_be_1_to_5(desk, score):
    desk.issue("A")
    desk.call(1)
    desk(StartService(1))
    desk(Complete(1))
    with pytest.raises(err.MalformedCommand):
        desk(Rate("A001", score))


def test_rating_only_after_done(desk):
    desk.issue("A")
    with pytest.raises(err.IllegalTransition):
        desk(Rate("A001", 5))


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (IssueTicket("Z"), err.UnknownService),
        (IssueTicket(["A"]), err.UnknownService),
        (IssueTicket("A", priority="vip"), err.UnknownPriorityClass),
        (IssueTicket("A", source=7), err.MalformedCommand),
        (IssueTicket("A", key=""), err.MalformedCommand),
        (CallNext(99), err.UnknownCounter),
        (CallNext("1"), err.UnknownCounter),
        (CallTicket(1, "A999"), err.UnknownTicket),
        (StartService(1), err.IllegalTransition),
        (Complete(1), err.IllegalTransition),
        (Recall(1), err.IllegalTransition),
        (NoShow(1, requeue="yes"), err.MalformedCommand),
        (Unpark("B001"), err.UnknownTicket),
        (Rate(None, 3), err.UnknownTicket),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(desk, command, error):
    desk.issue("A")
    before = desk.state.snapshot()
    with pytest.raises(error) as info:
        desk(command)
    assert info.value.vi and info.value.en and info.value.code
    assert desk.state.snapshot() == before


def test_decide_does_not_change_the_state(desk):
    desk.issue("A")
    before = desk.state.snapshot()
    d = decide(desk.state, CallNext(1), desk.now + 1)
    assert isinstance(d.events[0], TicketCalled)
    assert desk.state.snapshot() == before


@pytest.mark.parametrize("now", [float("nan"), float("inf"), -1.0, "07:30", None])
def test_a_time_that_is_not_epoch_seconds_is_refused(desk, now):
    before = desk.state.snapshot()
    with pytest.raises(err.MalformedCommand):
        decide(desk.state, IssueTicket("A"), now)
    assert desk.state.snapshot() == before


def test_unknown_command_type_is_malformed(desk):
    with pytest.raises(err.MalformedCommand):
        decide(desk.state, object(), desk.now)


def test_first_command_of_the_day_opens_it(center, desk_for):
    d = desk_for(center, open_counters=False)
    events = d(IssueTicket("A")).events
    assert type(events[0]).__name__ == "DayOpened" and events[0].day == "2026-11-23"
    assert isinstance(events[1], TicketIssued)
