"""The simulated day works only the counters it is given: the demo leaves one to a visitor."""

from __future__ import annotations

from datetime import date

from gateway.dispatch import State, handle
from gateway.dispatch.events import CounterStatusChanged, TicketCalled
from gateway.simulation import Profile, simulate_day


def test_a_counter_left_out_of_the_staff_is_never_opened_or_called_at(demo_center):
    state, seen = State(demo_center), []

    def record(command, now):
        decision = handle(state, command, now)
        seen.extend(decision.events)
        return decision

    staffed = frozenset(c.number for c in demo_center.counters) - {2}
    simulate_day(demo_center, record, date(2026, 11, 23), Profile(citizens=60, staffed=staffed), 3)
    touched = {e.counter for e in seen if isinstance(e, (CounterStatusChanged, TicketCalled))}
    assert touched == staffed  # every other counter worked, counter 2 never
    assert state.counters[2].status == "closed" and sum(isinstance(e, TicketCalled) for e in seen) >= 60
