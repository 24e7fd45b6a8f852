"""The queue's alerts (gateway/dispatch/alerts.py) as pure functions: each threshold just below and
just above, opening hours and a closed center, and the `[alerts]` keys that are refused."""

from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from contracts.sync import check_batch, snapshot_only
from contracts.validation import ConfigError
from gateway.config import AlertRules, center_from_dict
from gateway.dispatch import CloseCounter, Complete, IssueTicket, StartService
from gateway.dispatch.alerts import alert_key, queue_alerts
from gateway.numbers import vi_int
from gateway.sync.buckets import snapshot
from tests.conftest import HCM, SMALL_CENTER_FILE, Desk

MONDAY = datetime(2026, 11, 23, tzinfo=HCM)
MIN = 60.0


def at(hhmm: str, day: datetime = MONDAY) -> float:
    return day.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:])).timestamp()


def center(**alerts):
    """The small test center with these `[alerts]` thresholds."""
    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))
    if alerts:
        data["alerts"] = alerts
    return center_from_dict(data, source="test.toml")


def desk(config, start: str = "07:30", open_counters: bool = True, day: datetime = MONDAY) -> Desk:
    from gateway.dispatch import OpenCounter

    d = Desk(config, now=at(start, day))
    for c in config.counters:
        if open_counters:
            d(OpenCounter(c.number), after=0)
    return d


def issue_at(d: Desk, service: str, hhmm: str, day: datetime = MONDAY) -> str:
    d.now = at(hhmm, day)
    return d(IssueTicket(service), after=0).events[-1].ticket


def kinds(alerts: list[dict], kind: str) -> list[dict]:
    return [a for a in alerts if a["kind"] == kind]


def test_nobody_waiting_no_alert_at_any_hour():
    d = desk(center(waiting=1, service_waiting=1, longest_wait_minutes=1, stall_minutes=1))
    assert queue_alerts(d.state, at("09:00")) == []
    assert queue_alerts(d.state, at("21:00")) == []


def test_the_centers_overload_just_below_and_just_above():
    d = desk(center(waiting=5, service_waiting=5))
    for i, service in enumerate("AABBC"):
        issue_at(d, service, f"08:0{i}")
    assert kinds(queue_alerts(d.state, at("08:06")), "overload") == []  # 5 is the threshold, not above it
    issue_at(d, "C", "08:06")
    assert kinds(queue_alerts(d.state, at("08:07")), "overload") == [
        {"service": None, "kind": "overload", "message": "Đang có 6 người chờ (ngưỡng 5)"}
    ]


def test_a_services_overload_names_it():
    d = desk(center(waiting=30, service_waiting=3))
    for i in range(3):
        issue_at(d, "A", f"08:0{i}")
    issue_at(d, "B", "08:05")
    assert kinds(queue_alerts(d.state, at("08:06")), "overload") == []
    issue_at(d, "A", "08:06")
    assert kinds(queue_alerts(d.state, at("08:07")), "overload") == [
        {"service": "A", "kind": "overload", "message": "Đang có 4 người chờ dịch vụ A – Chứng thực (ngưỡng 3)"}
    ]


def test_a_called_ticket_no_longer_counts():
    d = desk(center(waiting=2, service_waiting=2))
    for hhmm in ("08:00", "08:01", "08:02"):
        issue_at(d, "A", hhmm)
    assert len(kinds(queue_alerts(d.state, at("08:03")), "overload")) == 2  # the center's and A's
    d.now = at("08:03")
    d.call(1)
    assert kinds(queue_alerts(d.state, at("08:04")), "overload") == []


def test_the_longest_wait_just_below_and_just_above():
    d = desk(center(longest_wait_minutes=60))
    issue_at(d, "A", "08:00")
    issue_at(d, "B", "08:30")
    assert kinds(queue_alerts(d.state, at("09:00") + 59), "long_wait") == []  # 60 min 59 s: 60 whole minutes
    assert kinds(queue_alerts(d.state, at("09:01")), "long_wait") == [
        {"service": "A", "kind": "long_wait",
         "message": "Chờ lâu nhất 61 phút: số A001, dịch vụ A – Chứng thực (ngưỡng 60 phút)"}
    ]  # fmt: skip


def test_a_long_wait_counts_after_hours_too():
    """People still in the hall at 17:30 are still waiting: only the stall needs opening hours."""
    d = desk(center(longest_wait_minutes=60, stall_minutes=20))
    issue_at(d, "B", "16:00")
    alerts = queue_alerts(d.state, at("17:30"))
    assert [a["kind"] for a in alerts] == ["long_wait"]
    assert alerts[0]["message"].startswith("Chờ lâu nhất 90 phút: số B001")


def test_a_stall_counts_from_the_oldest_arrival_just_below_and_just_above():
    d = desk(center(stall_minutes=20))
    issue_at(d, "A", "08:00")
    assert kinds(queue_alerts(d.state, at("08:20") + 59), "stall") == []
    assert kinds(queue_alerts(d.state, at("08:21")), "stall") == [
        {"service": None, "kind": "stall", "message": "Có người chờ nhưng 21 phút chưa gọi số nào"}
    ]


def test_a_stall_counts_from_the_last_call():
    d = desk(center(stall_minutes=20))
    issue_at(d, "A", "08:00")
    issue_at(d, "A", "08:01")
    d.now = at("08:10")
    assert d.call(1, after=0) == "A001"
    assert d.state.last_call_at == at("08:10")
    d(StartService(1), after=0)
    d(Complete(1), after=0)
    assert kinds(queue_alerts(d.state, at("08:30") + 59), "stall") == []
    assert kinds(queue_alerts(d.state, at("08:31")), "stall")[0]["message"] == (
        "Có người chờ nhưng 21 phút chưa gọi số nào"
    )


def test_a_stall_with_every_counter_closed_says_so():
    """Counters closed and people waiting is the worst stall, not an excuse for none."""
    d = desk(center(stall_minutes=20), open_counters=False)
    issue_at(d, "A", "08:00")
    (stall,) = kinds(queue_alerts(d.state, at("08:25")), "stall")
    assert stall["message"] == "Có người chờ nhưng 25 phút chưa gọi số nào; không quầy nào mở"
    d.now = at("08:25")
    from gateway.dispatch import OpenCounter

    d(OpenCounter(2), after=0)
    (stall,) = kinds(queue_alerts(d.state, at("08:26")), "stall")
    assert stall["message"] == "Có người chờ nhưng 26 phút chưa gọi số nào"
    d(CloseCounter(2), after=0)
    assert "không quầy nào mở" in kinds(queue_alerts(d.state, at("08:27")), "stall")[0]["message"]


def test_no_stall_outside_opening_hours_and_the_clock_restarts_after_lunch():
    d = desk(center(stall_minutes=20, longest_wait_minutes=600))
    issue_at(d, "A", "11:00")
    assert kinds(queue_alerts(d.state, at("11:25")), "stall") != []
    assert queue_alerts(d.state, at("11:30")) == []  # lunch: the center is closed
    assert queue_alerts(d.state, at("13:50") + 59) == []  # 20 min 59 s since 13:30
    assert kinds(queue_alerts(d.state, at("13:51")), "stall")[0]["message"].startswith("Có người chờ nhưng 21 phút")


def test_no_stall_on_a_day_the_center_is_closed():
    saturday = datetime(2026, 11, 28, tzinfo=HCM)
    d = desk(center(stall_minutes=20), start="08:00", day=saturday)
    issue_at(d, "A", "08:00", saturday)
    assert kinds(queue_alerts(d.state, at("09:00", saturday)), "stall") == []


def test_after_the_business_day_the_waiting_raise_nothing():
    """Yesterday's waiting tickets stay in the state until today's first command closes them; they
    are unfinished, not an overload at 07:30."""
    d = desk(center(waiting=1, service_waiting=1, longest_wait_minutes=1, stall_minutes=1))
    for hhmm in ("16:00", "16:01"):
        issue_at(d, "A", hhmm)
    assert len(queue_alerts(d.state, at("16:59"))) == 4
    assert queue_alerts(d.state, d.state.day_ends_at) == []


def test_the_last_call_is_part_of_the_state_that_replays():
    d = desk(center())
    issue_at(d, "A", "08:00")
    d.now = at("08:05")
    d.call(1, after=0)
    replayed = desk(center())
    replayed.state = type(d.state)(d.state.config)
    replayed.state.commit(d.events)
    assert replayed.state.snapshot()["last_call_at"] == at("08:05") == d.state.snapshot()["last_call_at"]


def test_messages_write_numbers_the_vietnamese_way():
    assert vi_int(1234) == "1.234" and vi_int(20_000) == "20.000" and vi_int(42) == "42"
    d = desk(center(waiting=1_000, service_waiting=1, longest_wait_minutes=1, stall_minutes=1))
    issue_at(d, "A", "08:00")
    issue_at(d, "A", "08:00")
    (long_wait,) = kinds(queue_alerts(d.state, at("23:00")), "long_wait")  # the day ends at midnight
    assert long_wait["message"].startswith("Chờ lâu nhất 900 phút")
    d.state.queues["A"].waiting = 1_234  # a count no small center's numbers reach: only its wording is tested
    assert [a["message"] for a in kinds(queue_alerts(d.state, at("08:01")), "overload")] == [
        "Đang có 1.234 người chờ (ngưỡng 1.000)",
        "Đang có 1.234 người chờ dịch vụ A – Chứng thực (ngưỡng 1)",
    ]


def test_queue_and_board_alerts_are_told_apart_and_both_reach_the_snapshot():
    d = desk(center(waiting=1, service_waiting=1, longest_wait_minutes=1, stall_minutes=1))
    issue_at(d, "A", "08:00")
    issue_at(d, "A", "08:00")
    now = at("08:30")
    queue = queue_alerts(d.state, now)
    board = {"device": "kiosk-1", "kind": "paper_out", "message": "Máy in của kiosk-1 hết giấy", "since": now}
    keys = [alert_key(a) for a in [*queue, board]]
    assert keys == [("service:*", "overload"), ("service:A", "overload"), ("service:A", "long_wait"),
                    ("service:*", "stall"), ("kiosk-1", "paper_out")]  # fmt: skip
    snap = snapshot(d.state, {"devices": [], "alerts": [*queue, board]}, now)
    assert snap["alerts"][-1] == {"device": "kiosk-1", "kind": "paper_out", "message": "Máy in của kiosk-1 hết giấy"}
    assert snap["alerts"][:-1] == queue
    checked = check_batch(snapshot_only("test") | {"snapshot": snap})
    assert checked["snapshot"]["alerts"] == snap["alerts"]


# -- the `[alerts]` keys ---------------------------------------------------------------------------
def test_the_defaults_suit_a_commune_center():
    assert center().alerts == AlertRules(waiting=30, service_waiting=15, longest_wait_minutes=60, stall_minutes=20)
    assert center(stall_minutes=25).alerts.stall_minutes == 25


@pytest.mark.parametrize(
    "alerts, key, reason",
    [
        ({"waiting": 0}, "alerts.waiting", "cần số nguyên 1–20.000 (need a whole number 1–20,000), got 0"),
        ({"stall_minutes": 1441}, "alerts.stall_minutes", "cần số nguyên 1–1.440"),
        ({"longest_wait_minutes": 30.5}, "alerts.longest_wait_minutes", "cần kiểu int"),
        ({"waiting": True}, "alerts.waiting", "cần kiểu int"),
        ({"waiting": "30"}, "alerts.waiting", "cần kiểu int"),
        ({"wait_minutes": 60}, "alerts.wait_minutes", "khóa không được hỗ trợ (unknown key); known: waiting, "),
        ({"waiting": 10, "service_waiting": 11}, "alerts.service_waiting", "không lớn hơn alerts.waiting = 10"),
    ],
)
def test_a_wrong_threshold_is_refused_by_name(alerts, key, reason):
    with pytest.raises(ConfigError) as caught:
        center(**alerts)
    assert caught.value.key == key and reason in str(caught.value), str(caught.value)


def test_alerts_must_be_a_table():
    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8")) | {"alerts": 30}
    with pytest.raises(ConfigError) as caught:
        center_from_dict(data, source="test.toml")
    assert caught.value.key == "alerts"


# -- the gateway's shell ---------------------------------------------------------------------------
def test_the_gateway_logs_a_queue_alert_when_it_starts_and_ends_and_reports_it(tmp_path, caplog):
    import logging

    from gateway.dispatch import CallNext, OpenCounter
    from gateway.dispatcher import Dispatcher
    from gateway.service import GatewayService, MqttSettings

    config = center(waiting=1, service_waiting=1)
    dispatcher = Dispatcher.open(config, tmp_path / "journal.db")
    now = at("09:00")
    service = GatewayService(config, dispatcher, MqttSettings(), clock=lambda: now)
    try:
        for command in (OpenCounter(1), IssueTicket("A"), IssueTicket("A")):
            dispatcher.handle(command, now)
        with caplog.at_level(logging.INFO, logger="hangcho.gateway"):
            service.check_alerts()
            report = service.devices_report()
            assert report["center"] == {"id": "test", "name": "Trung tâm thử nghiệm", "timezone": "Asia/Ho_Chi_Minh"}
            assert report["now"] == now and report["open"] is True
            assert [(a["service"], a["message"]) for a in report["alerts"][:2]] == [
                (None, "Đang có 2 người chờ (ngưỡng 1)"),
                ("A", "Đang có 2 người chờ dịch vụ A – Chứng thực (ngưỡng 1)"),
            ]  # the queue's first, then the boards' (none of which has said it is online)
            assert all("device" in a for a in report["alerts"][2:])
            dispatcher.handle(CallNext(1), now)
            service.check_alerts()
        lines = [r.getMessage() for r in caplog.records]
        assert "alert: Đang có 2 người chờ (ngưỡng 1)" in lines
        assert "alert over: Đang có 2 người chờ (ngưỡng 1)" in lines
        assert lines.count("alert: Đang có 2 người chờ (ngưỡng 1)") == 1
    finally:
        dispatcher.close()
