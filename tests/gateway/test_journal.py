"""The journal and the durable dispatcher: what survives a restart, and what a failure leaves."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from gateway.dispatch import CallNext, DispatchError, IssueTicket, OpenCounter, errors
from gateway.dispatch.events import TicketIssued
from gateway.dispatcher import Dispatcher
from gateway.journal import Journal, JournalError
from gateway.simulation import Profile, simulate_day

MORNING = 1795393800.0  # 2026-11-23 07:30 +07:00


@pytest.fixture
def journal_path(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def dispatcher(center, journal_path):
    d = Dispatcher.open(center, journal_path)
    yield d
    d.close()


def reopen(d: Dispatcher) -> Dispatcher:
    d.close()
    return Dispatcher.open(d.config, d.journal.path)


def test_journal_is_wal_with_full_sync_and_migrated(dispatcher):
    db = dispatcher.journal.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert "events" in db.table_names()
    applied = db.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'hangcho.journal'").fetchall()
    assert [r[0] for r in applied] == ["m001_events"]


def test_reopening_applies_no_migration_twice(dispatcher):
    d = reopen(dispatcher)
    try:
        assert d.journal.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == 1
    finally:
        d.close()


def test_a_simulated_day_replays_to_the_same_state(demo_center, tmp_path):
    d = Dispatcher.open(demo_center, tmp_path / "day.db")
    simulate_day(demo_center, d.handle, date(2026, 11, 23), Profile(citizens=120), seed=5)
    before = d.state.snapshot()
    assert len(before["tickets"]) == 120
    d = reopen(d)
    try:
        assert d.state.snapshot() == before
    finally:
        d.close()


def test_a_repeated_key_after_restart_returns_the_original(dispatcher):
    first = dispatcher.handle(IssueTicket("A", key="kiosk-1:7:42"), MORNING)
    d = reopen(dispatcher)
    try:
        rows = d.journal.last_seq()
        again = d.handle(IssueTicket("A", key="kiosk-1:7:42"), MORNING + 5)
        assert again.duplicate and again.events == first.events
        assert d.journal.last_seq() == rows
        assert list(d.state.tickets) == ["A001"]
    finally:
        d.close()


def test_a_key_from_yesterday_is_not_a_new_ticket_today(dispatcher):
    first = dispatcher.handle(IssueTicket("B", key="kiosk-2:1:9"), MORNING)
    tomorrow = MORNING + 86400
    dispatcher.handle(IssueTicket("A", key="kiosk-2:1:10"), tomorrow)  # the new day starts
    again = dispatcher.handle(IssueTicket("B", key="kiosk-2:1:9"), tomorrow + 1)
    assert again.duplicate and again.events == first.events
    assert "B001" not in dispatcher.state.tickets


def test_group_commit_answers_each_command(dispatcher):
    items = [
        (IssueTicket("A", key="k1"), MORNING),
        (IssueTicket("Z", key="k2"), MORNING + 1),  # refused: unknown service
        (IssueTicket("A", key="k1"), MORNING + 2),  # same key in the same group
        (OpenCounter(1), MORNING + 3),
        (CallNext(1), MORNING + 4),
    ]
    outcomes = dispatcher.handle_many(items)
    assert isinstance(outcomes[1], errors.UnknownService)
    assert outcomes[2].duplicate and outcomes[2].events == outcomes[0].events
    assert outcomes[4].events[0].ticket == "A001"
    cmds = dispatcher.journal.db.execute("SELECT DISTINCT cmd FROM events ORDER BY cmd").fetchall()
    assert [c[0] for c in cmds] == [1, 2, 3]  # issue (with the day's opening), open, call


def test_a_failed_write_changes_nothing_and_loses_no_number(dispatcher, journal_path):
    dispatcher.handle(IssueTicket("A"), MORNING)
    with sqlite3.connect(journal_path) as db:
        db.execute(
            "CREATE TRIGGER disk_full BEFORE INSERT ON events WHEN NEW.type = 'TicketIssued'"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    before = dispatcher.state.snapshot()
    rows = dispatcher.journal.last_seq()
    with pytest.raises(JournalError, match="disk is full"):
        dispatcher.handle(IssueTicket("A", key="lost?"), MORNING + 1)
    assert dispatcher.state.snapshot() == before
    assert dispatcher.journal.last_seq() == rows
    with sqlite3.connect(journal_path) as db:
        db.execute("DROP TRIGGER disk_full")
    again = dispatcher.handle(IssueTicket("A", key="lost?"), MORNING + 2)
    assert not again.duplicate and again.events[0].ticket == "A002"


def test_a_failed_group_write_leaves_the_state_as_the_journal_has_it(dispatcher, journal_path):
    dispatcher.handle(IssueTicket("A"), MORNING)
    before = dispatcher.state.snapshot()
    with sqlite3.connect(journal_path) as db:
        db.execute("CREATE TRIGGER io_error BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    with pytest.raises(JournalError):
        dispatcher.handle_many([(IssueTicket("A", key=f"g{i}"), MORNING + i) for i in range(1, 4)])
    assert dispatcher.state.snapshot() == before


def test_a_full_disk_is_told_apart_and_changes_nothing(dispatcher):
    dispatcher.handle(IssueTicket("A"), MORNING)
    db = dispatcher.journal.db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")  # SQLITE_FULL, for real
    before, issued = dispatcher.state.snapshot(), 1
    with pytest.raises(JournalError) as failed:
        for i in range(500):
            before = dispatcher.state.snapshot()
            dispatcher.handle(IssueTicket("A", key=f"k{i}"), MORNING + i)
            issued += 1
    assert failed.value.disk_full and "disk is full" in str(failed.value)
    assert dispatcher.state.snapshot() == before
    d = reopen(dispatcher)
    try:
        assert len(d.state.tickets) == issued
        assert d.journal.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        d.close()


def test_other_write_errors_are_not_a_full_disk(dispatcher, journal_path):
    with sqlite3.connect(journal_path) as db:
        db.execute("CREATE TRIGGER io_error BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    with pytest.raises(JournalError) as failed:
        dispatcher.handle(IssueTicket("A"), MORNING)
    assert not failed.value.disk_full


def test_a_refused_command_writes_nothing(dispatcher):
    dispatcher.handle(IssueTicket("A"), MORNING)
    rows = dispatcher.journal.last_seq()
    with pytest.raises(DispatchError):
        dispatcher.handle(CallNext(1), MORNING + 1)  # counter 1 is closed
    assert dispatcher.journal.last_seq() == rows


def test_replay_reads_only_the_latest_business_day(dispatcher):
    dispatcher.handle(IssueTicket("A"), MORNING)
    dispatcher.handle(IssueTicket("A"), MORNING + 86400)
    d = reopen(dispatcher)
    try:
        assert d.state.day == "2026-11-24"
        assert list(d.state.tickets) == ["A001"]
        assert d.state.tickets["A001"].arrived_at == MORNING + 86400
    finally:
        d.close()


def test_events_round_trip_through_the_journal(dispatcher):
    d = dispatcher.handle(IssueTicket("A", "cao_tuoi", source="kiosk-1", key="x"), MORNING)
    (stored,) = list(dispatcher.journal.current_day())
    assert stored == ("x", d.events)
    assert isinstance(stored[1][1], TicketIssued)


def test_an_unknown_event_type_is_a_clear_error(dispatcher, journal_path):
    dispatcher.handle(IssueTicket("A"), MORNING)
    dispatcher.close()
    with sqlite3.connect(journal_path) as db:
        db.execute("UPDATE events SET type = 'Teleported', data = '{}' WHERE type = 'TicketIssued'")
    j = Journal(journal_path)
    try:
        with pytest.raises(ValueError, match="Teleported"):
            list(j.current_day())
    finally:
        j.close()


def test_a_press_that_got_no_answer_is_pressed_again_and_makes_one_ticket(demo_center, tmp_path):
    """The demo's people press through MQTT; an ack lost on the way gave no TicketIssued and the
    simulated day died (StopIteration). Now the citizen presses again with the same key."""
    from gateway.dispatch import Decision, IssueTicket

    d = Dispatcher.open(demo_center, tmp_path / "day.db")
    lost = set()

    def flaky(command, now):
        decision = d.handle(command, now)
        if isinstance(command, IssueTicket) and command.key not in lost and len(lost) < 10:
            lost.add(command.key)  # the first press of ten citizens: issued, but the answer lost
            return Decision(())
        return decision

    try:
        simulate_day(demo_center, flaky, date(2026, 11, 23), Profile(citizens=60), seed=5)
        assert len(lost) == 10 and len(d.state.tickets) == 60
    finally:
        d.close()
