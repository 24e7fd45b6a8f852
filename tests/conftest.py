"""Fixtures shared by every part's tests, named for what they give."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config import DEMO_CENTER, center_from_dict, load_center
from gateway.dispatch import OpenCounter, State, handle

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=HCM).timestamp()

SMALL_CENTER_FILE = Path(__file__).parent / "data" / "small_center.toml"


def make_center(counters=None, **dispatch):
    """The small test center (tests/data/small_center.toml), optionally changed."""
    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))
    data["dispatch"].update(dispatch)
    if counters is not None:
        data["counters"] = counters
        numbers = {c["number"] for c in counters}
        data["devices"] = [d for d in data["devices"] if d.get("counter", numbers and min(numbers)) in numbers]
    return center_from_dict(data, source=str(SMALL_CENTER_FILE))


class Desk:
    """The core in memory with a hand-turned clock: what a test drives."""

    def __init__(self, config, now: float = MORNING):
        self.state = State(config)
        self.now = now

    def __call__(self, command, after: float = 1.0):
        self.now += after
        return handle(self.state, command, self.now)

    def issue(self, service: str, priority: str | None = None, after: float = 1.0) -> str:
        from gateway.dispatch import IssueTicket

        return self(IssueTicket(service, priority), after).events[-1].ticket

    def call(self, counter: int, after: float = 1.0) -> str | None:
        from gateway.dispatch import CallNext

        events = self(CallNext(counter), after).events
        return events[-1].ticket if events else None

    def serve(self, counter: int, after: float = 1.0) -> str | None:
        """Call the next ticket and serve it to the end: what a counter does all day."""
        from gateway.dispatch import Complete, StartService

        ticket = self.call(counter, after)
        if ticket is not None:
            self(StartService(counter))
            self(Complete(counter))
        return ticket

    def ticket(self, ticket_id: str):
        return self.state.tickets[ticket_id]


@pytest.fixture
def center_with():
    """Build the small test center with some dispatch rules changed."""
    return make_center


@pytest.fixture
def center():
    return make_center()


@pytest.fixture
def desk_for():
    """Make a Desk (the core in memory, a hand-turned clock) for a given center."""

    def make(config, open_counters: bool = True) -> Desk:
        d = Desk(config)
        if open_counters:
            for c in config.counters:
                d(OpenCounter(c.number), after=0)
        return d

    return make


@pytest.fixture
def desk(center, desk_for):
    """The small center with every counter open at 07:30."""
    return desk_for(center)


@pytest.fixture
def demo_center():
    """The bundled demo center (gateway/centers/demo.toml): 6 services, 8 counters."""

    return load_center(DEMO_CENTER)
