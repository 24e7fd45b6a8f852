"""Budgets in the running service, over a real Mosquitto: a board beyond its budget is refused with
a reason, issues nothing, raises an alert (fleet page and sync snapshot); a board back from away
gets its whole outbox; `info` brings the raster blocks at most once a minute; refusals are logged
once per board and reason per minute."""

from __future__ import annotations

import json
import logging
import re
import time
import tomllib

import pytest

from contracts.sync import check_batch
from gateway.budget import DRAIN_WINDOW_S
from gateway.config import center_from_dict
from gateway.sync.buckets import snapshot
from tests.conftest import SMALL_CENTER_FILE

BUDGETS = {"press_burst": 3, "key_burst": 4, "messages_per_s": 50, "messages_burst": 60}


@pytest.fixture
def center():
    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))
    data["budgets"] = BUDGETS
    return center_from_dict(data, source="budgets")


@pytest.fixture
def gateway(center, broker, tmp_path):
    """The service, whose clock is moved past the drain window of its start once it is up: what a
    board sends now is judged on its ordinary budget, as on any day after the first minute."""
    from gateway.dispatcher import Dispatcher
    from gateway.service import GatewayService, MqttSettings

    ahead = [0.0]
    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    settings = MqttSettings(port=broker.port, password=broker.password("gateway"))
    service = GatewayService(center, dispatcher, settings, clock=lambda: time.time() + ahead[0])
    opened_at_start = {d: b.open_until for d, b in service.budgets.buckets.items()}
    service.start()
    assert service.connected.wait(10), "the gateway did not connect"
    # Its connection opens every board's drain window again (what waited in the broker comes now):
    # only once the worker has done that may the clock move past it, or the window opens after.
    deadline = time.monotonic() + 10
    while any(b.open_until <= opened_at_start[d] for d, b in service.budgets.buckets.items()):
        assert time.monotonic() < deadline, "the worker never opened the drain window of its connection"
        time.sleep(0.01)
    ahead[0] = 2 * DRAIN_WINDOW_S
    yield service
    service.stop()
    dispatcher.close()


def _acks(board, ids: list[str]) -> list[dict]:
    return [board.ack_for(i, timeout=10) for i in ids]


def test_presses_beyond_the_budget_are_refused_and_issue_nothing(gateway, boards):
    kiosk = boards("kiosk-1")
    ids = [kiosk.press(button=0) for _ in range(8)]
    acks = _acks(kiosk, ids)
    refused = [a for a in acks if not a["ok"]]
    assert len([a for a in acks if a["ok"]]) <= BUDGETS["press_burst"] + 1  # + what refilled meanwhile
    assert len(refused) >= 4
    assert {a["error"] for a in refused} == {"over_budget"}
    assert refused[0]["message"].startswith("Bấm quá nhanh")
    assert len(gateway.dispatcher.state.tickets) == 8 - len(refused), "nothing issued beyond the budget"
    first = acks[0]
    assert kiosk.ack_for(kiosk.press(button=0, seq=1), timeout=10) == first  # a resend: its first answer


def test_a_resend_is_answered_even_when_the_board_is_over_budget(gateway, boards):
    kiosk = boards("kiosk-1")
    first = kiosk.ack_for(kiosk.press(button=1, seq=1))
    used = _acks(kiosk, [kiosk.press(button=1) for _ in range(6)])  # use the budget up
    assert used[-1]["error"] == "over_budget"
    kiosk.messages.clear()
    for _ in range(5):
        kiosk.press(button=1, seq=1)
    kiosk.wait_for("ack", lambda b: len(kiosk.all("ack")) >= 5, timeout=10)
    assert kiosk.all("ack") == [first] * 5


def test_over_budget_is_an_alert_on_the_fleet_page_and_in_the_snapshot(gateway, boards):
    kiosk = boards("kiosk-1")
    ids = [kiosk.press() for _ in range(10)]
    _acks(kiosk, ids)
    report = gateway.devices_report()
    alerts = [a for a in report["alerts"] if a["kind"] == "over_budget"]
    assert len(alerts) == 1 and alerts[0]["device"] == "kiosk-1" and alerts[0]["count"] >= 5
    assert alerts[0]["message"].startswith("Thiết bị kiosk-1 (kiosk) gửi quá nhiều lượt bấm")
    live = snapshot(gateway.dispatcher.state, report, gateway.clock())
    assert {"device": "kiosk-1", "kind": "over_budget", "message": alerts[0]["message"]} in live["alerts"]
    assert check_batch({"center": "test", "snapshot": live})["snapshot"] is live, "the server takes it"


def test_a_counters_keys_beyond_the_budget_change_nothing(gateway, boards):
    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    kiosk.ack_for(kiosk.press())
    ids = [counter.key("open"), counter.key("next")]
    ids += [counter.key("recall") for _ in range(20)]  # what a flood of no-shows starts with
    acks = _acks(counter, ids)
    assert acks[0]["ok"] and acks[1]["ok"]
    refused = [a for a in acks if not a["ok"]]
    assert len(refused) >= 20 - BUDGETS["key_burst"] and {a["error"] for a in refused} == {"over_budget"}
    assert refused[0]["message"].startswith("Bấm phím quá nhanh")
    ticket = gateway.dispatcher.state.tickets["A001"]
    assert ticket.recalls <= BUDGETS["key_burst"], "no more recalls than the budget"


def test_a_kiosk_back_from_away_gets_its_whole_outbox(gateway, boards):
    """Its `online` comes first, then every press made while it was away: none is refused."""
    kiosk = boards("kiosk-1")
    kiosk.publish("status", "online")
    # 50 presses: far beyond its burst (3), within the drain (64) and, with its `online`, within
    # the door's burst of 60 messages (what exceeds that is shed, and a real board resends it).
    ids = [kiosk.press(button=n % 2) for n in range(50)]
    acks = _acks(kiosk, ids)
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:2]
    assert len(gateway.dispatcher.state.tickets) == 50


def test_info_sends_the_blocks_at_most_once_a_minute(gateway, boards):
    kiosk = boards("kiosk-1")
    for _ in range(30):
        kiosk.publish("info", json.dumps({"role": "kiosk", "blocks_rev": "old"}))
    kiosk.wait_for("cmd/config", lambda b: b["kind"] == "blocks_done")
    kiosk.ack_for(kiosk.press())  # a sentinel: every info has been handled
    configs = kiosk.all("cmd/config")
    assert [c["kind"] for c in configs].count("blocks_done") == 1
    assert len(configs) == len({(c.get("name"), c.get("y")) for c in configs}), "each part of each block once"
    assert gateway._blocks_pacer.waiting == {"kiosk-1"}, "the last info is remembered for the next minute"
    rev = configs[-1]["rev"]
    kiosk.publish("info", json.dumps({"role": "kiosk", "blocks_rev": rev}))
    kiosk.ack_for(kiosk.press())
    assert gateway._blocks_pacer.waiting == set(), "it has them now: nothing more to send"


def test_refusals_are_logged_once_per_board_and_reason(gateway, boards, caplog):
    caplog.set_level(logging.INFO, logger="hangcho.gateway")
    kiosk = boards("kiosk-1")
    for n in range(40):
        kiosk.publish("evt", f"not json {n}")
    kiosk.ack_for(kiosk.press())
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused event from kiosk-1")]
    reason = "payload is not UTF-8 JSON: Expecting value: line 1 column 1 (char 0)"
    assert lines == [f"refused event from kiosk-1: {reason}"]
    summary = gateway.refusals.due(time.monotonic() + 61)  # the minute is over
    assert len(summary) == 1 and summary[0][0] == "event"
    assert re.fullmatch(
        rf"refused event from kiosk-1: 39 more in the last 6\d s \(latest: {re.escape(reason)}\)", summary[0][1]
    )


def test_a_board_flooding_the_inbox_is_shed_and_raises_an_alert(gateway, boards):
    noisy, kiosk = boards("kiosk-2"), boards("kiosk-1")
    for n in range(400):
        noisy.client.publish(noisy.topic("tele"), json.dumps({"uptime_s": n}), qos=0)
    noisy.publish("tele", json.dumps({"uptime_s": -1}))  # after all the others (same connection, in order)
    assert kiosk.ack_for(kiosk.press())["ok"]
    # The alert starts with the first sheds the worker counts (after a group) and its count grows
    # as the rest are counted: wait for the count, not for the alert (it once read 4).
    expected = 400 - BUDGETS["messages_burst"] - 100

    def flooding() -> list[dict]:
        return [a for a in gateway.devices_report()["alerts"] if a["kind"] == "flooding"]

    deadline = time.monotonic() + 10
    while not flooding() or flooding()[0]["count"] < expected:
        assert time.monotonic() < deadline, flooding() or gateway.devices_report()["alerts"]
        kiosk.publish("tele", json.dumps({"uptime_s": 1}))  # the worker counts what was shed after each group
        time.sleep(0.05)
    alert = flooding()[0]
    assert alert["device"] == "kiosk-2" and alert["count"] >= expected
