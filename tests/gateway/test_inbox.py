"""The gateway's inbox (gateway/inbox.py): a lane per board, served in turn, each bounded, so one
board's flood neither delays another's press nor grows the gateway's memory; and the refusal log
(gateway/refusals.py) that writes one line per board and reason per minute."""

from __future__ import annotations

import threading
import time

from gateway.inbox import PER_LANE, FairInbox
from gateway.refusals import RefusalLog


def test_a_flood_cannot_push_another_boards_press_back():
    inbox = FairInbox(rate=1e9, burst=1000)
    for i in range(1000):
        inbox.put("kiosk-2", ("flood", i), now=0.0)
    inbox.put("kiosk-1", ("press", 1), now=0.0)
    group = inbox.take(200, timeout=0)
    assert ("press", 1) in group
    assert len([m for m in group if m[0] == "flood"]) <= PER_LANE, "the flood gets one turn, not the group"
    assert group.index(("press", 1)) <= PER_LANE


def test_each_lane_keeps_its_order_and_turns_go_round():
    inbox = FairInbox(rate=1e9, burst=1000)
    for i in range(40):
        inbox.put("a", ("a", i), 0.0)
    for i in range(3):
        inbox.put("b", ("b", i), 0.0)
    seen = []
    while group := inbox.take(20, timeout=0):
        seen.append(group)
    flat = [m for g in seen for m in g]
    assert [m for m in flat if m[0] == "a"] == [("a", i) for i in range(40)]
    assert [m for m in flat if m[0] == "b"] == [("b", i) for i in range(3)]
    assert seen[0] == [("a", i) for i in range(PER_LANE)] + [("b", 0), ("b", 1), ("b", 2)]


def test_a_full_lane_sheds_that_boards_newest_message_only():
    inbox = FairInbox(rate=1e9, burst=5)
    accepted = [inbox.put("kiosk-2", i, 0.0) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert inbox.put("kiosk-1", "press", 0.0), "another board's lane is its own"
    assert inbox.shed() == {"kiosk-2": 3}
    assert inbox.shed() == {}, "counted once"
    assert inbox.take(100, 0) == [0, 1, 2, 3, 4, "press"]


def test_a_board_over_its_message_rate_is_shed_until_its_bucket_refills():
    inbox = FairInbox(rate=100, burst=10)
    admitted = 0
    for i in range(10_000):  # 10,000 a second for 1 s, the worker keeping up
        admitted += inbox.put("kiosk-2", i, now=i / 10_000)
        inbox.take(100, timeout=0)
    assert 10 + 100 - 2 <= admitted <= 10 + 100 + 1
    assert inbox.shed()["kiosk-2"] == 10_000 - admitted


def test_console_requests_come_first_and_are_never_shed():
    inbox = FairInbox(rate=1, burst=1)
    inbox.put("kiosk-1", "press", 0.0)
    for n in range(5):
        inbox.put_control(f"console {n}")
    assert inbox.take(100, 0) == [f"console {n}" for n in range(5)] + ["press"]


def test_take_waits_for_a_message_and_gives_up_at_its_timeout():
    inbox = FairInbox(rate=100, burst=10)
    t0 = time.monotonic()
    assert inbox.take(10, timeout=0.1) == []
    assert time.monotonic() - t0 >= 0.09
    threading.Timer(0.05, lambda: inbox.put("kiosk-1", "press", time.monotonic())).start()
    assert inbox.take(10, timeout=10) == ["press"]


def test_refusals_are_one_line_per_board_and_reason_per_minute():
    log = RefusalLog()
    lines = [log.refused("kiosk-2", "event", f"junk {i}", now=i * 0.01) for i in range(1000)]
    assert lines[0] == ["refused event from kiosk-2: junk 0"]
    assert lines[1:] == [[]] * 999
    assert log.refused("kiosk-2", "over_budget", "kiosk-2:7:9", 1.0), "another reason: its own line"
    assert log.refused("kiosk-1", "event", "x", 1.0), "another board: its own line"
    assert log.due(59.0) == []
    assert log.next_due(59.0) == 1.0
    assert log.due(60.0) == [("event", "refused event from kiosk-2: 999 more in the last 60 s (latest: junk 999)")]
    assert log.due(61.0) == [], "the others had no more: their windows close quietly"
    assert log.refused("kiosk-2", "event", "junk", 61.0) == [], "still in its second minute"
    assert log.due(120.0) == [("event", "refused event from kiosk-2: 1 more in the last 60 s (latest: junk)")]
    assert log.due(180.0) == []
    assert log.refused("kiosk-2", "event", "again", 181.0) == ["refused event from kiosk-2: again"]


def test_a_minute_over_is_summed_up_by_the_next_refusal_too():
    log = RefusalLog()
    log.refused("kiosk-2", "event", "a", 0.0)
    log.refused("kiosk-2", "event", "b", 1.0)
    assert log.refused("kiosk-2", "event", "c", 70.0) == [
        "refused event from kiosk-2: 1 more in the last 70 s (latest: b)"
    ], "c opens the next minute, counted"


def test_a_window_of_zero_writes_every_refusal():
    log = RefusalLog(window_s=0)
    assert [log.refused("kiosk-1", "event", str(i), 5.0) for i in range(3)] == [
        [f"refused event from kiosk-1: {i}"] for i in range(3)
    ]
    assert log.due(5.0) == []


def test_shed_messages_are_counted_in_bulk():
    log = RefusalLog()
    assert log.refused("kiosk-2", "messages", "12 shed", 0.0, count=12)
    assert log.refused("kiosk-2", "messages", "300 shed", 1.0, count=300) == []
    assert log.due(60.0) == [
        ("messages", "refused messages from kiosk-2: 300 more in the last 60 s (latest: 300 shed)")
    ]
