"""The durable queue: the dispatch core with its journal.

`handle_many` decides a group of commands in order against the live state,
writes all their events in one transaction, and only then reports them. If
the write fails, the in-memory state is rebuilt from the journal, so memory
never runs ahead of the disk. A key not seen today is looked up in the
journal too, so a device that resends yesterday's press after a restart gets
yesterday's answer instead of a second ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from .config import CenterConfig
from .dispatch import Command, Decision, DispatchError, State, decide
from .journal import Batch, Journal, JournalError

Outcome = Decision | DispatchError


class Dispatcher:
    def __init__(self, config: CenterConfig, journal: Journal):
        self.config = config
        self.journal = journal
        self.state = replay(config, journal)

    @classmethod
    def open(cls, config: CenterConfig, path: str | Path) -> Dispatcher:
        return cls(config, Journal(path))

    def handle(self, command: Command, now: float) -> Decision:
        """One command, one transaction; raises DispatchError if refused."""
        decision = self._decide(command, now)
        if decision.duplicate or not decision.events:
            return decision
        self.journal.append(((command.key, decision.events),))  # JournalError: nothing changed
        self.state.commit(decision.events, command.key)
        return decision

    def handle_many(
        self, items: Sequence[tuple[Command, float]], admit: Callable[[int], None] | None = None
    ) -> list[Outcome]:
        """Several commands in one transaction; a refusal answers only its own command.

        `admit(i)` is asked before item i is decided, only when its key is new (not a resend of
        something already answered): it raises a DispatchError to refuse it (the budget,
        gateway/budget.py), so that a resend is always answered and never costs budget.

        If the write fails, JournalError is raised, none of the group is durable, and the
        state is rebuilt from the journal: the caller must acknowledge none of them.
        """
        outcomes: list[Outcome] = []
        batches: list[Batch] = []
        state = self.state
        for i, (command, now) in enumerate(items):
            try:
                decision = self._decide(command, now, None if admit is None else partial(admit, i))
            except DispatchError as e:
                outcomes.append(e)
                continue
            outcomes.append(decision)
            if not decision.duplicate and decision.events:
                state.commit(decision.events, command.key)
                batches.append((command.key, decision.events))
        if batches:
            try:
                self.journal.append(batches)
            except JournalError:
                self.state = replay(self.config, self.journal)
                raise
        return outcomes

    def _decide(self, command: Command, now: float, admit: Callable[[], None] | None = None) -> Decision:
        key = getattr(command, "key", None)
        if key.__class__ is str:
            prior = self.state.seen.get(key)
            if prior is None:
                prior = self.journal.find(key)
            if prior is not None:
                return Decision(prior, True)
        if admit is not None:
            admit()
        return decide(self.state, command, now)

    def close(self) -> None:
        self.journal.close()


def replay(config: CenterConfig, journal: Journal, upto_seq: int | None = None) -> State:
    """The state after the latest business day's journal, as it was before a restart."""
    state = State(config)
    for key, events in journal.current_day(upto_seq):
        state.commit(events, key)
    return state
