"""What a board's `evt` carries (docs/protocol.md, Events): kinds, keypad actions, outcomes.

A kiosk sends `press` events, a counter's keypad (or the staff console in its place) sends
`key` events with one of ACTIONS; the gateway turns them into dispatch commands
(gateway/protocol.py). The firmware writes these words itself: tests/test_contracts.py
checks its copies.
"""

from __future__ import annotations

PRESS, KEY = "press", "key"
KINDS = (PRESS, KEY)
ACTIONS = ("next", "recall", "start", "complete", "no_show", "transfer", "park", "open", "pause", "close", "rate")
OUTCOMES = ("resolved", "forwarded", "returned")  # how a filing ends at the counter
