"""The business day: numbers restart at local midnight, and the day never goes backwards."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.dispatch import CallNext, IssueTicket
from gateway.dispatch import errors as err
from gateway.dispatch.businessday import day_of
from gateway.dispatch.events import DayOpened, TicketIssued, TicketUnfinished

TZ = "Asia/Ho_Chi_Minh"  # UTC+7, no daylight saving
HCM = ZoneInfo(TZ)


def local(*args: int) -> float:
    """Epoch of a wall-clock time in Hồ Chí Minh City."""
    return datetime(*args, tzinfo=HCM).timestamp()


def until(desk, when: float) -> float:
    """The `after=` that moves the desk's clock to `when`."""
    return when - desk.now


# -- day_of ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "next_day"),
    [((2026, 11, 23), (2026, 11, 24)), ((2026, 11, 30), (2026, 12, 1)), ((2026, 12, 31), (2027, 1, 1))],
)
def test_last_second_belongs_to_its_day_and_midnight_is_one_second_later(day, next_day):
    now = local(*day, 23, 59, 59)
    assert day_of(now, TZ) == (datetime(*day).date().isoformat(), local(*next_day))
    assert local(*next_day) - now == 1


def test_local_midnight_starts_the_new_day():
    assert day_of(local(2026, 11, 24), TZ) == ("2026-11-24", local(2026, 11, 25))


def test_day_is_the_local_date_not_the_utc_date():
    # 06:00 on the 24th in Vietnam is 23:00 on the 23rd in UTC.
    now = local(2026, 11, 24, 6, 0)
    assert datetime.fromtimestamp(now, ZoneInfo("UTC")).day == 23
    assert day_of(now, TZ) == ("2026-11-24", local(2026, 11, 25))


# -- the core across midnight (desk: the small center, counters open at 07:30 on 2026-11-23) -------
def test_numbers_restart_at_a001_after_local_midnight(desk):
    assert [desk.issue("A"), desk.issue("A"), desk.issue("B")] == ["A001", "A002", "B001"]
    assert desk.issue("A", after=until(desk, local(2026, 11, 23, 23, 59, 59))) == "A003"
    assert desk.state.day == "2026-11-23"

    d = desk(IssueTicket("A"), after=1)  # exactly 00:00:00 on the 24th

    *unfinished, opened, issued = d.events  # yesterday's four still waiting end first (test_close_of_day.py)
    assert [e.ticket for e in unfinished] == ["A001", "A002", "B001", "A003"]
    assert opened == DayOpened(desk.now, "2026-11-24", local(2026, 11, 25))
    assert isinstance(issued, TicketIssued) and issued.ticket == "A001"
    assert (desk.state.day, desk.state.day_ends_at) == ("2026-11-24", local(2026, 11, 25))
    assert list(desk.state.tickets) == ["A001"]
    assert desk.state.waiting_in_order("A") == ["A001"]
    assert desk.state.waiting_in_order("B") == []
    assert desk.state.next_number == {"A": 2, "B": 1, "C": 1}
    assert {c.status for c in desk.state.counters.values()} == {"closed"}


def test_counter_open_yesterday_must_be_opened_again_after_midnight(desk):
    desk.issue("A")
    desk.issue("A", after=until(desk, local(2026, 11, 24, 7, 0)))
    with pytest.raises(err.IllegalTransition):
        desk(CallNext(1))


def test_refused_first_command_after_midnight_leaves_yesterday_untouched(desk):
    desk.issue("A")
    before = desk.state.snapshot()
    # Counter 1 was open yesterday but is closed in the new day, so this is refused...
    with pytest.raises(err.IllegalTransition):
        desk(CallNext(1), after=until(desk, local(2026, 11, 24, 7, 0)))
    # ...and the refusal opens no day: the state is still yesterday's.
    assert desk.state.snapshot() == before
    assert desk.state.day == "2026-11-23"


def test_command_timed_before_the_current_day_stays_in_it(desk):
    desk.issue("A")
    # The clock is corrected backwards (NTP) to 23:00 the evening before.
    d = desk(IssueTicket("A"), after=until(desk, local(2026, 11, 22, 23, 0)))
    assert [type(e) for e in d.events] == [TicketIssued]
    assert d.events[0].ticket == "A002"
    assert (desk.state.day, desk.state.day_ends_at) == ("2026-11-23", local(2026, 11, 24))
    assert list(desk.state.tickets) == ["A001", "A002"]


def test_clock_set_back_then_forward_within_the_day_keeps_numbering(desk):
    desk.issue("A", after=until(desk, local(2026, 11, 23, 10, 0)))
    desk.issue("A", after=until(desk, local(2026, 11, 23, 9, 0)))
    assert desk.issue("A", after=until(desk, local(2026, 11, 23, 10, 5))) == "A003"
    assert desk.state.day == "2026-11-23"


# -- idempotency keys across midnight, in memory -----------------------------------------------------
# The in-memory core remembers keys in state.seen, which a new day resets. Whether yesterday's key
# is a duplicate therefore depends on whether the new day has opened yet. (The durable Dispatcher
# also looks a key not in state.seen up in the journal, which covers the second case.)
KEY = "kiosk-1:12:345"


def test_yesterdays_key_as_first_command_after_midnight_returns_yesterdays_ticket(desk):
    first = desk(IssueTicket("A", key=KEY))

    again = desk(IssueTicket("A", key=KEY), after=until(desk, local(2026, 11, 24, 7, 0)))

    # The key is checked before the day: the answer is yesterday's, and no new day is opened.
    assert again.duplicate
    assert again.events == first.events
    assert [type(e) for e in again.events] == [TicketIssued]
    assert desk.state.day == "2026-11-23"
    assert list(desk.state.tickets) == ["A001"]
    # The next command with a fresh key is the one that opens the 24th.
    unfinished, opened, issued = desk(IssueTicket("A")).events  # yesterday's A001 closes first
    assert (type(unfinished), unfinished.ticket) == (TicketUnfinished, "A001")
    assert (type(opened), opened.day, issued.ticket) == (DayOpened, "2026-11-24", "A001")


def test_yesterdays_key_after_the_new_day_opened_acts_again_in_memory(desk):
    desk(IssueTicket("A", key=KEY))
    desk.issue("B", after=until(desk, local(2026, 11, 24, 7, 0)))  # opens the 24th, resets state.seen
    assert KEY not in desk.state.seen

    again = desk(IssueTicket("A", key=KEY))

    assert not again.duplicate
    (issued,) = again.events
    assert (issued.ticket, issued.at) == ("A001", desk.now)
    assert desk.state.seen == {KEY: again.events}
    assert list(desk.state.tickets) == ["B001", "A001"]
