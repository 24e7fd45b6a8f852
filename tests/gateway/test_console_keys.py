"""The console's keys: each is disabled exactly when the core would refuse it, with the core's reason."""

from __future__ import annotations

import re
import tomllib

import pytest

from contracts.validation import ConfigError
from gateway.config import DEFAULT_AGENCIES, center_from_dict
from gateway.console_keys import BY_ID, EMPTY_QUEUE, KEYS, confirmation, current_heading, key_for, reasons
from gateway.dispatch import CloseCounter, Complete, Recall
from tests.conftest import SMALL_CENTER_FILE


def possible(desk, counter=1) -> set[str]:
    return {k for k, why in reasons(desk.state, counter, desk.now).items() if why is None}


def test_the_four_main_actions_come_first():
    assert [k.label for k in KEYS[:4]] == ["Gọi số tiếp theo", "Hoàn tất tại chỗ", "Gọi lại", "Vắng mặt"]
    assert all(k.main for k in KEYS[:4]) and not any(k.main for k in KEYS[4:])


def test_each_key_is_possible_only_when_the_core_accepts_it(desk):
    why = reasons(desk.state, 1, desk.now)
    assert why["next"] == EMPTY_QUEUE  # open, idle, nobody waiting
    assert why["open"] == "Quầy đang mở" and why["pause"] is None
    assert "không có số nào để hoàn tất" in why["resolved"]
    assert possible(desk) == {"pause"}
    desk.issue("A")
    assert possible(desk) == {"next", "pause"}
    assert desk.call(1) == "A001"
    # called: complete works without a separate start; a no-show needs the recalls first
    assert possible(desk) == {"resolved", "returned", "forwarded", "recall", "start", "park", "transfer"}
    assert reasons(desk.state, 1, desk.now)["no_show"].startswith("Cần gọi lại số A001 ít nhất 2 lần")
    assert "đang phục vụ số A001" in reasons(desk.state, 1, desk.now)["pause"]
    desk(Recall(1))
    desk(Recall(1))
    assert "no_show" in possible(desk)
    desk(Complete(1, "resolved"))
    assert possible(desk) == {"pause"}  # idle, and the queue is empty again


def test_a_closed_counter_offers_no_filing_action(desk):
    desk(CloseCounter(1))
    why = reasons(desk.state, 1, desk.now)
    assert [k for k, w in why.items() if w is None] == ["pause", "open"]  # the core lets a closed counter pause
    assert why["next"] == "Quầy 1 đang đóng, cần mở quầy trước"


def test_probing_leaves_the_state_and_its_keys_as_they_were(desk):
    desk.issue("A")
    before = (dict(desk.state.seen), len(desk.state.tickets), desk.state.counters[1].current)
    for _ in range(3):
        reasons(desk.state, 1, desk.now)
    assert (dict(desk.state.seen), len(desk.state.tickets), desk.state.counters[1].current) == before


def test_a_confirmation_says_what_happened():
    names = {"B": "Hộ tịch"}
    assert confirmation(BY_ID["next"], 3, "A013", {}, names) == "Đã gọi số A013 đến quầy 3."
    assert confirmation(BY_ID["next"], 3, None, {}, names) == "Không còn ai chờ: chưa gọi số nào."
    forwarded = key_for({"action": "complete", "outcome": "forwarded"})
    assert confirmation(forwarded, 3, "A013", {"forwarded_to": "Sở Tư pháp"}, names) == (
        "Số A013: đã nhận hồ sơ, chuyển đến Sở Tư pháp."
    )
    moved = confirmation(BY_ID["transfer"], 3, "A013", {"to_service": "B"}, names)
    assert moved == "Đã chuyển số A013 sang dịch vụ Hộ tịch."
    assert key_for({"action": "complete"}) is BY_ID["resolved"]
    assert confirmation(key_for({"action": "close"}), 3, None, {}, names) == "Đã thực hiện."
    assert [current_heading(s) for s in (None, "called", "serving")] == [
        "Chưa gọi số nào", "Đã gọi, chờ công dân đến quầy", "Đang phục vụ"]  # fmt: skip


def test_agencies_come_from_the_center_config():
    def base():
        return tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))

    assert center_from_dict(base()).agencies == DEFAULT_AGENCIES
    own = base()
    own["center"]["agencies"] = ["Phòng Kinh tế", "Công an phường"]
    assert center_from_dict(own).agencies == ("Phòng Kinh tế", "Công an phường")
    for bad, where in (([], "center.agencies"), (["x" * 121], "center.agencies"), ([" lề"], "center.agencies"),
                       (["A", "A"], "center.agencies[1]")):  # fmt: skip
        own["center"]["agencies"] = bad
        with pytest.raises(ConfigError, match=f"{re.escape(where)}: "):
            center_from_dict(own)
