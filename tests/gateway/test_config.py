"""The center configuration: the bundled file loads, and each mistake names its file and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import gateway
from contracts.validation import ConfigError
from gateway.config import DispatchRules, center_from_dict, load_center

DEMO = Path(gateway.__file__).parent / "centers" / "demo.toml"
SOURCE = "centers/thu-nghiem.toml"

VALID = {
    "center": {"id": "test", "name": "Trung tâm thử nghiệm", "timezone": "Asia/Ho_Chi_Minh"},
    "dispatch": {"priority_mode": "in_row", "priority_limit": 2},
    "services": [
        {"code": "A", "name": "Chứng thực", "prior_minutes": 5, "field": "chung_thuc"},
        {"code": "B", "name": "Hộ tịch", "first": 1, "last": 500, "field": "ho_tich"},
    ],
    "priority_classes": [
        {"code": "cao_tuoi", "name": "Người cao tuổi"},
        {"code": "khuyet_tat", "name": "Người khuyết tật"},
    ],
    "counters": [
        {"number": 1, "tiers": [["A"], ["B"]]},
        {"number": 2, "tiers": [["B"]]},
    ],
}

VALID_TOML = """
[center]
id = "test"
name = "Trung tâm thử nghiệm"

[[services]]
code = "A"
name = "Chứng thực"
field = "chung_thuc"

[[counters]]
number = 1
tiers = [["A"]]
"""

DELETE = object()


def changed(*edits: tuple[str, object]) -> dict:
    """A deep copy of VALID with each dotted path ("counters.0.number") set to a value, or deleted."""
    data = copy.deepcopy(VALID)
    for path, value in edits:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        target = data
        for p in parents:
            target = target[p]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


def rejected(data: dict, key: str, source: str = SOURCE) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        center_from_dict(data, source=source)
    err = caught.value
    assert err.key == key
    assert err.source == source
    assert str(err).startswith(f"{source}: {key}: ")
    return err


# -- what loads ------------------------------------------------------------------------------------
def test_bundled_demo_center_loads():
    c = load_center(DEMO)
    assert [s.code for s in c.services] == list("ABCDEF")
    assert [k.number for k in c.counters] == list(range(1, 9))
    assert [p.code for p in c.priority_classes] == ["cao_tuoi", "khuyet_tat", "mang_thai", "co_cong"]
    assert c.timezone == "Asia/Ho_Chi_Minh"
    assert c.counters[0].tiers == (("A",), ("B", "E"))


def test_valid_dict_loads_with_defaults_filled_in():
    c = center_from_dict(VALID, source=SOURCE)
    assert (c.id, c.ward, c.timezone) == ("test", "", "Asia/Ho_Chi_Minh")
    assert c.services[0].prior_minutes == 5.0 and type(c.services[0].prior_minutes) is float
    assert (c.services[0].first, c.services[0].last) == (1, 999)
    assert c.services[1].prior_minutes is None
    assert c.counters[1].name == "Quầy 2"
    assert c.rules == DispatchRules()


def test_minimal_toml_file_loads_with_default_rules(tmp_path):
    path = tmp_path / "center.toml"
    path.write_text(VALID_TOML, encoding="utf-8")
    c = load_center(path)
    assert (c.name, c.timezone, c.priority_classes, c.rules) == (
        "Trung tâm thử nghiệm",
        "Asia/Ho_Chi_Minh",
        (),
        DispatchRules(),
    )


# -- file-level errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "english"),
    [
        ("khong-co.toml", None, "file not found"),
        ("hong.toml", '[center]\nname = "không đóng ngoặc\n', "invalid TOML"),
    ],
)
def test_an_unreadable_file_is_named(tmp_path, name, content, english):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_center(path)
    assert (caught.value.source, caught.value.key) == (str(path), "-")
    assert english in caught.value.reason
    assert name in str(caught.value)


def test_error_inside_a_file_names_that_file(tmp_path):
    path = tmp_path / "trung-so-quay.toml"
    path.write_text(VALID_TOML + "\n[[counters]]\nnumber = 1\ntiers = [['A']]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_center(path)
    assert (caught.value.source, caught.value.key) == (str(path), "counters[1].number")
    assert "trung-so-quay.toml" in str(caught.value)


# -- one mistake, one key --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edits", "key", "english"),
    [
        pytest.param([("center", DELETE)], "center", "missing required section", id="no-center"),
        pytest.param([("center", "Phú Định")], "center", "must be a table", id="center-not-table"),
        pytest.param([("services", DELETE)], "services", "missing required section", id="no-services"),
        pytest.param([("services", [])], "services", "non-empty array", id="empty-services"),
        pytest.param([("center.name", DELETE)], "center.name", "missing required key", id="no-name"),
        pytest.param([("center.name", "   ")], "center.name", "must not be empty", id="blank-name"),
        pytest.param([("counters.0.number", "1")], "counters[0].number", "expected int", id="number-str"),
        pytest.param([("counters.0.number", True)], "counters[0].number", "expected int", id="number-bool"),
        pytest.param([("services.1.last", True)], "services[1].last", "expected int", id="last-bool"),
        pytest.param([("dispatch.priority_limit", 2.0)], "dispatch.priority_limit", "expected int", id="limit-float"),
        pytest.param([("services.0.prior_minutes", True)], "services[0].prior_minutes", "expected", id="prior-bool"),
        pytest.param([("counters.0.number", 0)], "counters[0].number", "need 1–999", id="number-0"),
        pytest.param([("services.1.first", 600)], "services[1].first", "need 0 ≤ first ≤ last", id="first>last"),
        pytest.param([("services.0.prior_minutes", 0)], "services[0].prior_minutes", "must be positive", id="prior-0"),
        pytest.param([("services.0.prior_minutes", -5)], "services[0].prior_minutes", "positive", id="prior-neg"),
        pytest.param([("priority_classes.0.code", "Cao tuổi")], "priority_classes[0].code", "only a–z", id="class"),
        pytest.param([("dispatch.priority_mode", "xen_ke")], "dispatch.priority_mode", "choose one of", id="mode"),
        pytest.param([("dispatch.priority_limit", 0)], "dispatch.priority_limit", "must be ≥ 1", id="limit-0"),
        pytest.param([("dispatch.starvation_minutes", 0)], "dispatch.starvation_minutes", "positive", id="starve-0"),
        pytest.param([("dispatch.starvaton_minutes", 30)], "dispatch.starvaton_minutes", "unknown key", id="typo-key"),
        pytest.param([("dispatch", [])], "dispatch", "must be a table", id="dispatch-not-table"),
        pytest.param([("center.timezone", "Asia/Ha_Noi")], "center.timezone", "unknown time zone", id="tz-unknown"),
        pytest.param([("center.timezone", "../etc/UTC")], "center.timezone", "unknown time zone", id="tz-path"),
        pytest.param([("center.admin_pin", "12")], "center.admin_pin", "need 4–8 digits", id="admin-pin-short"),
        pytest.param([("center.admin_pin", 1234)], "center.admin_pin", "expected str", id="admin-pin-unquoted"),
    ],
)
def test_mistake_is_reported_with_its_key(edits, key, english):
    assert english in rejected(changed(*edits), key).reason


@pytest.mark.parametrize("code", ["a", "AB", "1", "Ă", ""])
def test_service_code_must_be_one_capital_letter(code):
    err = rejected(changed(("services.0.code", code)), "services[0].code")
    assert "must be one capital letter" in err.reason or "must not be empty" in err.reason


@pytest.mark.parametrize(
    ("edits", "key"),
    [
        pytest.param([("services.1.code", "A")], "services[1].code", id="service"),
        pytest.param([("counters.1.number", 1)], "counters[1].number", id="counter"),
        pytest.param([("priority_classes.1.code", "cao_tuoi")], "priority_classes[1].code", id="priority-class"),
    ],
)
def test_duplicate_is_reported_at_the_second_occurrence(edits, key):
    assert "duplicate" in rejected(changed(*edits), key).reason


@pytest.mark.parametrize(
    ("tiers", "key", "english"),
    [
        pytest.param([["A"], ["Z"]], "counters[0].tiers[1]", "unknown service", id="unknown-service"),
        pytest.param([["A"], ["B", "A"]], "counters[0].tiers[1]", "service listed twice", id="twice"),
        pytest.param([["A", "A"]], "counters[0].tiers[0]", "service listed twice", id="twice-same-tier"),
        pytest.param([], "counters[0].tiers", "need at least one tier", id="no-tiers"),
        pytest.param([["A"], []], "counters[0].tiers[1]", "each tier is a list", id="empty-tier"),
        pytest.param(["A"], "counters[0].tiers[0]", "each tier is a list", id="tier-not-list"),
    ],
)
def test_counter_tiers_are_checked(tiers, key, english):
    assert english in rejected(changed(("counters.0.tiers", tiers)), key).reason


# -- mistakes that once slipped through --------------------------------------------------------------
# ZoneInfo raises IsADirectoryError for a key naming a tzdata folder such as "Asia".
def test_timezone_naming_a_folder_is_a_config_error():
    rejected(changed(("center.timezone", "Asia")), "center.timezone")


# TOML allows nan and inf; `prior <= 0` is False for both. A nan prior crashed the wait estimate
# and a nan starvation_minutes silently disabled the guard.
@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        pytest.param("services.0.prior_minutes", float("nan"), "services[0].prior_minutes", id="prior-nan"),
        pytest.param("services.0.prior_minutes", float("inf"), "services[0].prior_minutes", id="prior-inf"),
        pytest.param("dispatch.starvation_minutes", float("nan"), "dispatch.starvation_minutes", id="starve-nan"),
    ],
)
def test_non_finite_minutes_are_rejected(path, value, key):
    try:
        center_from_dict(changed((path, value)), source=SOURCE)
    except ConfigError as e:
        assert e.key == key
    else:
        raise AssertionError(f"{path} = {value} was accepted")


# `$` also matches before a trailing newline: code "A\n" gave tickets "A\n001".
def test_service_code_with_trailing_newline_is_rejected():
    data = changed(("services.0.code", "A\n"), ("counters.0.tiers", [["A\n"], ["B"]]))
    rejected(data, "services[0].code")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("center.timezon", "center.timezon"),
        ("services.0.prior_minute", "services[0].prior_minute"),
        ("counters.1.tier", "counters[1].tier"),
        ("priority_classes.0.label", "priority_classes[0].label"),
        ("device", "device"),
    ],
)
def test_a_misspelt_key_is_refused_not_ignored(path, key):
    assert "unknown key" in rejected(changed((path, "x")), key).reason


KIOSK = {"id": "kiosk-1", "role": "kiosk", "buttons": ["A", "B"], "priority_class": "cao_tuoi"}


def with_device(**fields) -> dict:
    data = copy.deepcopy(VALID)
    data["devices"] = [{**KIOSK, **fields}]
    return data


def test_devices_load_with_their_bindings():
    data = copy.deepcopy(VALID)
    data["devices"] = [KIOSK, {"id": "counter-1", "role": "counter", "counter": 1}, {"id": "hall", "role": "hall"}]
    kiosk, counter, hall = center_from_dict(data, source=SOURCE).devices
    assert (kiosk.buttons, kiosk.priority_class, kiosk.printer) == (("A", "B"), "cao_tuoi", "58mm")
    assert (counter.role, counter.counter) == ("counter", 1)
    assert hall.role == "hall"


@pytest.mark.parametrize(
    ("fields", "key", "english"),
    [
        ({"id": "Kiosk 1"}, "devices[0].id", "only a–z"),
        ({"id": "kiosk/1"}, "devices[0].id", "only a–z"),
        ({"id": "gateway"}, "devices[0].id", "dành riêng cho hệ thống (reserved"),
        ({"id": "tech-update"}, "devices[0].id", "dành riêng cho hệ thống (reserved"),
        ({"role": "printer"}, "devices[0].role", "choose one of"),
        ({"buttons": ["A", "Z"]}, "devices[0].buttons", "declared service codes"),
        ({"buttons": []}, "devices[0].buttons", "declared service codes"),
        ({"priority_class": "vip"}, "devices[0].priority_class", "unknown priority class"),
        ({"printer": "a4"}, "devices[0].printer", "choose one of"),
        ({"counter": 1}, "devices[0].counter", "not used by role kiosk"),
        ({"role": "counter", "counter": 9}, "devices[0].counter", "unknown counter"),
    ],
)
def test_device_mistakes_are_named(fields, key, english):
    data = with_device(**fields)
    if fields.get("role") == "counter":
        data["devices"][0] = {"id": "counter-9", **fields}
    assert english in rejected(data, key).reason


def test_device_ids_are_unique():
    data = copy.deepcopy(VALID)
    data["devices"] = [KIOSK, KIOSK]
    rejected(data, "devices[1].id")


def test_each_service_names_its_field_in_the_catalog():
    import copy

    from contracts.catalog import NATIONAL

    assert [s.field for s in center_from_dict(VALID).services] == ["chung_thuc", "ho_tich"]
    unmapped = copy.deepcopy(VALID)
    del unmapped["services"][1]["field"]
    with pytest.raises(ConfigError, match=r"services\[1\]\.field"):
        center_from_dict(unmapped)
    unknown = copy.deepcopy(VALID)
    unknown["services"][1]["field"] = "ho_tic"
    with pytest.raises(
        ConfigError, match=r"services\[1\]\.field: không có trong danh mục .* 'ho_tic'; có \(known\): ho_tich"
    ):
        center_from_dict(unknown)
    extended = copy.deepcopy(VALID) | {"catalog": {"moi_truong": "Môi trường"}}  # the province's own field
    extended["services"][1]["field"] = "moi_truong"
    assert center_from_dict(extended).services[1].field == "moi_truong"
    taken = copy.deepcopy(VALID) | {"catalog": {"dat_dai": "Đất"}}
    with pytest.raises(ConfigError, match="the nation's"):
        center_from_dict(taken)
    assert len(NATIONAL) == 10 and list(NATIONAL)[-1] == "khac"
