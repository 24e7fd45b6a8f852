"""The close of a business day: every ticket still waiting, called, in service or parked when the
day ends is closed as `unfinished` by the first command of the next day, before its DayOpened, so
every issued number ends in exactly one outcome and the journal replays to the same state."""

from __future__ import annotations

from datetime import datetime

from gateway import protocol
from gateway.dispatch import CallNext, Cancel, IssueTicket, NoShow, OpenCounter, Park, Recall, StartService, decide
from gateway.dispatch.events import DayOpened, TicketUnfinished
from gateway.dispatch.state import ACTIVE, FINAL, State
from gateway.dispatcher import Dispatcher
from gateway.journal import JournalReader
from tests.conftest import HCM

MIDNIGHT = datetime(2026, 11, 24, tzinfo=HCM).timestamp()  # the end of the desk's day, 2026-11-23
NEXT_MORNING = datetime(2026, 11, 24, 7, 0, tzinfo=HCM).timestamp()


def a_day_left_open(desk) -> dict[str, str]:
    """Counters 1–3 open; by the evening one ticket is done, one a no-show, one cancelled, and one
    each still waiting, called (counter 1), in service (counter 2) and parked. Their ids by state."""
    for n in (1, 2, 3):
        desk(OpenCounter(n), after=0)
    desk.issue("A")
    done = desk.serve(1)
    gone = desk.issue("A")
    desk.call(1)
    desk(Recall(1))
    desk(Recall(1))
    desk(NoShow(1))
    cancelled = desk.issue("B")
    desk(Cancel(cancelled))
    parked = desk.issue("C")
    desk.call(3)
    desk(Park(3))
    serving = desk.issue("B")
    desk.call(2)
    desk(StartService(2))
    called = desk.issue("A")
    desk.call(1)
    waiting = desk.issue("A")
    return {"done": done, "no_show": gone, "cancelled": cancelled, "waiting": waiting, "called": called,
            "serving": serving, "parked": parked}  # fmt: skip


def test_tickets_open_at_midnight_end_unfinished_before_the_new_day_opens(desk):
    tickets = a_day_left_open(desk)
    yesterday = desk.state
    assert {t.id: t.state for t in yesterday.tickets.values()} == {v: k for k, v in tickets.items()}

    events = decide(yesterday, OpenCounter(1), NEXT_MORNING).events

    *unfinished, opened, status = events
    assert unfinished == [TicketUnfinished(MIDNIGHT, tickets[s], s) for s in ("parked", "serving", "called", "waiting")]
    assert type(opened) is DayOpened and opened.day == "2026-11-24"
    assert status.__class__.__name__ == "CounterStatusChanged"
    yesterday.commit(unfinished)  # the old day as its closings leave it
    assert {t.id: t.state for t in yesterday.tickets.values()} == {
        **{tickets[s]: "unfinished" for s in ("waiting", "called", "serving", "parked")},
        **{tickets[s]: s for s in ("done", "no_show", "cancelled")},
    }
    assert all(t.state in FINAL for t in yesterday.tickets.values())
    assert all(t.ended_at == MIDNIGHT for t in yesterday.tickets.values() if t.state == "unfinished")
    assert [c.current for c in yesterday.counters.values()] == [None, None, None]
    assert all(q.waiting == q.waiting_priority == 0 for q in yesterday.queues.values())
    assert yesterday.waiting_in_order("A") == []


def test_a_called_ticket_keeps_its_wait_and_a_never_called_one_has_none(desk):
    tickets = a_day_left_open(desk)
    closings = decide(desk.state, OpenCounter(1), NEXT_MORNING).events[:4]
    desk.state.commit(closings)
    for state in ("called", "serving", "parked"):
        assert desk.ticket(tickets[state]).first_called_at is not None
    assert desk.ticket(tickets["waiting"]).first_called_at is None


def test_a_day_with_every_ticket_at_an_outcome_closes_with_nothing(desk):
    desk.serve(1)
    ticket = desk.issue("A")
    desk(Cancel(ticket))
    events = desk(IssueTicket("A"), after=NEXT_MORNING - desk.now).events
    assert [type(e).__name__ for e in events] == ["DayOpened", "TicketIssued"]


def test_a_gateway_off_for_days_closes_the_old_day_at_its_own_end(desk):
    ticket = desk.issue("A")
    three_days_on = datetime(2026, 11, 27, 8, 0, tzinfo=HCM).timestamp()
    first, opened, _ = desk(IssueTicket("B"), after=three_days_on - desk.now).events
    assert first == TicketUnfinished(MIDNIGHT, ticket, "waiting")
    assert opened.day == "2026-11-27" and opened.at == three_days_on


def fold_journal(config, path) -> tuple[State, State]:
    """Every command of the journal folded in order, as the sync's fold reads it: the state just
    before the last DayOpened (the old day, closed) and the state at the end."""
    reader = JournalReader(path)
    state, old = State(config), None
    for _, _, events in reader.since(0):
        for e in events:
            if type(e) is DayOpened:
                old, state = state, State(config)
            state.commit((e,))
    reader.close()
    return old, state


def test_the_journal_holds_the_closings_in_the_old_day_and_replays_the_same(journaled_desk, center, tmp_path):
    desk = journaled_desk
    tickets = a_day_left_open(desk)
    press = desk(IssueTicket("A", key="kiosk-1:1:99"), after=NEXT_MORNING - desk.now)
    assert [type(e).__name__ for e in press.events] == [*["TicketUnfinished"] * 4, "DayOpened", "TicketIssued"]

    rows = desk.dispatcher.journal.db.execute("SELECT day, type, data FROM events ORDER BY seq").fetchall()
    *_, (day_1, type_1, _), (day_2, type_2, _), (day_3, type_3, _) = rows
    assert (day_1, type_1) == ("2026-11-23", "TicketUnfinished")  # the old day's last events
    assert (day_2, type_2, day_3, type_3) == ("2026-11-24", "DayOpened", "2026-11-24", "TicketIssued")
    live = desk.state.snapshot()

    desk.dispatcher.close()
    again = Dispatcher.open(center, tmp_path / "journal.db")
    assert again.state.snapshot() == live  # a restart replays today alone
    old, whole = fold_journal(center, tmp_path / "journal.db")
    # and the whole journal, folded in order, gives the same (the reader carries no idempotency keys)
    assert whole.snapshot() == live | {"seen": []}
    assert {t.id: t.state for t in old.tickets.values() if t.state == "unfinished"} == {
        tickets[s]: "unfinished" for s in ACTIVE
    }
    assert all(t.state in FINAL for t in old.tickets.values())

    resent = again.handle(IssueTicket("A", key="kiosk-1:1:99"), NEXT_MORNING + 60)
    assert resent.duplicate and protocol.ack("kiosk-1:1:99", resent)["ticket"] == "A001"
    again.close()


def test_the_first_commands_ack_names_its_own_ticket_not_the_old_days(desk):
    a_day_left_open(desk)
    opened = desk(OpenCounter(1), after=NEXT_MORNING - desk.now)
    assert any(type(e) is TicketUnfinished for e in opened.events)
    assert "ticket" not in protocol.ack("counter-1:1:7", opened)
    assert "ticket" not in protocol.ack("counter-1:1:8", desk(CallNext(1)))  # nobody waits in the new day
