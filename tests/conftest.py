"""Fixtures shared by every part's tests, named for what they give."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.config import center_from_dict
from gateway.dispatch import OpenCounter, State, handle

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=HCM).timestamp()

SMALL_CENTER = {
    "center": {"id": "test", "name": "Trung tâm thử nghiệm", "ward": "Phường Thử"},
    "dispatch": {
        "priority_mode": "in_row",
        "priority_limit": 2,
        "starvation_minutes": 30,
        "min_recalls_before_no_show": 2,
        "eta_min_samples": 3,
    },
    "services": [
        {"code": "A", "name": "Chứng thực", "prior_minutes": 5},
        {"code": "B", "name": "Hộ tịch", "prior_minutes": 10},
        {"code": "C", "name": "Đất đai", "last": 5},
    ],
    "priority_classes": [
        {"code": "cao_tuoi", "name": "Người cao tuổi"},
        {"code": "khuyet_tat", "name": "Người khuyết tật"},
    ],
    "counters": [
        {"number": 1, "tiers": [["A"], ["B"]]},
        {"number": 2, "tiers": [["B"], ["A"]]},
        {"number": 3, "tiers": [["C"]]},
    ],
}


def make_center(**dispatch):
    data = copy.deepcopy(SMALL_CENTER)
    data["dispatch"].update(dispatch)
    return center_from_dict(data, source="test.toml")


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
