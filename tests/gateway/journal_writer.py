"""A gateway stand-in for the crash test: writes the journal until it is killed.

Usage: python journal_writer.py JOURNAL CONFIG PRESSES START_TIME

It plays presses with keys press-0 … press-(N-1) (a restarted device resends
them all) and, between them, calls and serves at counter 1. After every
command that the journal made durable it prints one line:
    <journal seq> <state digest> <ticket id or ->
so the parent knows exactly what was acknowledged before it killed us.
"""

from __future__ import annotations

import hashlib
import json
import sys

from gateway.config import load_center
from gateway.dispatch import CallNext, Complete, DispatchError, IssueTicket, OpenCounter, StartService
from gateway.dispatcher import Dispatcher


def digest(state) -> str:
    return hashlib.sha1(json.dumps(state.snapshot(), sort_keys=True, default=str).encode()).hexdigest()


def main() -> None:
    path, config_path, presses, now = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    dispatcher = Dispatcher.open(load_center(config_path), path)
    out = sys.stdout

    def run(command) -> str:
        nonlocal now
        now += 1.0
        try:
            d = dispatcher.handle(command, now)
        except DispatchError:
            return "-"
        ticket = next((e.ticket for e in d.events if hasattr(e, "ticket")), "-")
        out.write(f"{dispatcher.journal.last_seq()} {digest(dispatcher.state)} {ticket}\n")
        out.flush()
        return ticket

    run(OpenCounter(1))
    print("ready", flush=True)
    for i in range(presses):
        run(IssueTicket("A", key=f"press-{i}", source="kiosk-1"))
        if i % 3 == 2 and dispatcher.state.counters[1].current is None and run(CallNext(1)) != "-":
            run(StartService(1))
            run(Complete(1))
    print("done", flush=True)


if __name__ == "__main__":
    main()
