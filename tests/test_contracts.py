"""The contracts package is the one home of what crosses a process boundary: the parts import it,
and the firmware, which cannot import it, writes the same words (checked here, literal by literal)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from contracts import answers, events, ids, topics
from contracts.ids import GATEWAY
from contracts.validation import ConfigError
from gateway.config import center_from_dict

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware" / "app"


def _tree(name: str) -> ast.Module:
    return ast.parse((FIRMWARE / name).read_text(encoding="utf-8"))


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _compared_with(tree: ast.AST, name: str) -> set[str]:
    """Every literal `name == "..."` (or `name.startswith("...")`) compares against."""
    found = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Compare) and isinstance(n.left, ast.Name) and n.left.id == name:
            found |= {c.value for c in n.comparators if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "startswith"
            and isinstance(n.func.value, ast.Name)
            and n.func.value.id == name
        ):
            found |= {a.value for a in n.args if isinstance(a, ast.Constant)}
    return found


def _base_leaves(tree: ast.AST) -> set[str]:
    """The leaves published or subscribed as `<x>.base + "leaf"`."""
    return {
        n.right.value
        for n in ast.walk(tree)
        if isinstance(n, ast.BinOp)
        and isinstance(n.left, ast.Attribute)
        and n.left.attr == "base"
        and isinstance(n.right, ast.Constant)
    }


def _module_constant(tree: ast.Module, name: str):
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            return ast.literal_eval(n.value)
    raise AssertionError(f"no module constant {name}")


def test_firmware_topic_tree_is_the_contracts():
    link = _tree("link.py")
    init = next(n for n in ast.walk(link) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    prefix = {
        a.arg: d.value for a, d in zip(init.args.args[-len(init.args.defaults) :], init.args.defaults, strict=True)
    }
    assert prefix["prefix"] == topics.PREFIX
    assert "%s/" + topics.VERSION + "/%s/%s/" in _strings(link)
    assert "%s/" + topics.VERSION + "/%s/" + GATEWAY + "/" + topics.TIME in _strings(link)  # the gateway's time
    subscribed = next(
        tuple(e.value for e in n.iter.elts)
        for n in ast.walk(link)
        if isinstance(n, ast.For) and isinstance(n.target, ast.Name) and n.target.id == "leaf"
    )
    assert set(subscribed) == set(topics.BOARD_READS)
    published = set().union(*(_base_leaves(_tree(f.name)) for f in FIRMWARE.glob("*.py")))
    assert published == set(topics.FROM_DEVICE), published  # status (and the will), info, tele, evt
    received = _compared_with(link, "leaf")
    assert received == {topics.ACK, topics.DISPLAY, topics.CMD + "/"}, received
    statuses = {n.value.decode() for n in ast.walk(link) if isinstance(n, ast.Constant) and isinstance(n.value, bytes)}
    assert statuses == {topics.STATUS_ONLINE, topics.STATUS_LOST}


def test_firmware_handles_exactly_the_commands():
    handled = set().union(*(_compared_with(_tree(f.name), "name") for f in FIRMWARE.glob("*.py")))
    assert handled == set(topics.COMMANDS), handled
    kiosk = _tree("kiosk.py")
    kinds = {
        c.comparators[0].value
        for c in ast.walk(kiosk)
        if isinstance(c, ast.Compare) and isinstance(c.left, ast.Call) and ast.unparse(c.left) == "body.get('kind')"
    }
    assert kinds == set(topics.CONFIG_KINDS)
    ops = _compared_with(_tree("printer.py"), "kind")
    assert ops == set(topics.PRINT_OPS)


def test_firmware_events_use_the_contract_words():
    texts = _strings(_tree("kiosk.py")) + _strings(_tree("counter.py"))
    kinds = {m for t in texts for m in re.findall(r'"kind":"(\w+)"', t)}
    assert kinds == set(events.KINDS)
    counter = _tree("counter.py")
    actions = set(_module_constant(counter, "ACTIONS").values())
    actions |= {m for t in _strings(counter) for m in re.findall(r'"action":"(\w+)"', t)}
    assert actions <= set(events.ACTIONS), actions - set(events.ACTIONS)
    assert {"next", "complete", "rate"} <= actions
    outcomes = next(
        set(ast.literal_eval(n.value.value).values())
        for n in ast.walk(counter)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Subscript) and isinstance(n.value.value, ast.Dict)
    )
    assert outcomes == set(events.OUTCOMES)


def test_counter_error_digits_name_real_reasons():
    codes = _module_constant(_tree("counter.py"), "ERROR_CODES")
    assert set(codes) <= set(answers.REASONS), set(codes) - set(answers.REASONS)
    assert len(set(codes.values())) == len(codes)


def test_the_dispatch_core_refuses_only_with_contract_reasons():
    from gateway.dispatch import errors

    codes = {c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DispatchError)}
    assert codes <= set(answers.REASONS)


def test_gateway_ticket_uses_only_print_ops(demo_center):
    from gateway.dispatch.events import TicketIssued
    from gateway.ticket import ticket_ops

    issued = TicketIssued(at=0.0, ticket="A001", service="A", number=1, priority=None, ahead=0, source="kiosk-1",
                          eta_low_min=None, eta_high_min=None, eta_point_min=None)  # fmt: skip
    assert {op[0] for op in ticket_ops(demo_center, issued, "http://x/t")} <= set(topics.PRINT_OPS)


def test_openapi_patterns_are_the_contracts():
    spec = json.dumps(json.loads((ROOT / "server" / "openapi.json").read_text(encoding="utf-8")))
    for grammar in (ids.SERVICE_CODE, ids.CENTER_ID):
        assert json.dumps(f"^{grammar.pattern}$") in spec, grammar.pattern
    assert json.dumps("^[A-Z][0-9]{3,4}$") in spec and ids.TICKET.pattern == "([A-Z])([0-9]{3,4})"


def test_the_api_document_bounds_are_the_contracts():
    """server/openapi.json is written by hand; its numbers and field lists are contracts/sync.py's."""
    from contracts import sync

    schemas = json.loads((ROOT / "server" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    assert schemas["Count"] == {"type": "integer", "minimum": 0, "maximum": sync.MAX_COUNT}
    for name, fields, hists in (("Bucket", sync.BUCKET_FIELDS, sync.HISTOGRAMS),
                                ("CounterDay", sync.COUNTER_FIELDS, sync.COUNTER_HISTOGRAMS)):  # fmt: skip
        props = schemas[name]["properties"]
        assert list(props) == list(fields) and schemas[name]["additionalProperties"] is False
        for hist, size in hists.items():
            assert props[hist]["minItems"] == props[hist]["maxItems"] == size
    batch = schemas["Batch"]
    assert set(batch["properties"]) == sync.BATCH_KEYS and batch["additionalProperties"] is False
    assert batch["properties"]["buckets"]["maxItems"] == batch["properties"]["counters"]["maxItems"] == sync.MAX_BUCKETS
    assert batch["properties"]["seq"]["maximum"] == sync.MAX_COUNT
    assert f"{sync.SEQ_WINDOW:,}" in batch["description"] and f"{sync.MAX_BODY_BYTES:,}" in batch["description"]
    assert f"within {sync.DAYS_PAST} days before" in schemas["SyncDay"]["description"]
    snapshot = schemas["Snapshot"]
    assert f"{sync.TAKEN_AT_PAST_S} s" in snapshot["description"]
    assert f"{sync.TAKEN_AT_AHEAD_S // 60} minutes after" in snapshot["description"]
    assert snapshot["properties"]["waiting"]["items"]["properties"]["count"]["maximum"] == sync.MAX_TICKETS
    assert snapshot["properties"]["tickets"]["maxProperties"] == sync.MAX_TICKETS


@pytest.mark.parametrize("folder", ["server", "boards", "contracts"])
def test_server_and_boards_import_nothing_of_the_gateway(folder):
    for path in (ROOT / folder).rglob("*.py"):
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in n.names] if isinstance(n, ast.Import) else []
            if isinstance(n, ast.ImportFrom) and n.level == 0:
                names = [n.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"gateway", "tech", "rig"}, f"{path}: imports {name}"
                if folder == "contracts":
                    assert name.split(".")[0] not in {"server", "boards", "contracts"}, f"{path}: imports {name}"


@pytest.mark.parametrize(
    ("center_id", "ok"),
    [("xa-tan-phu", True), ("Xa Tan/Phu#", False), ("xa+tan", False), ("xã-tân-phú", False), ("-x", False)],
)
def test_center_ids_checked_at_load(center_id, ok):
    data = {"center": {"id": center_id, "name": "X"}, "services": [{"code": "A", "name": "A", "field": "khac"}],
            "counters": [{"number": 1, "tiers": [["A"]]}]}  # fmt: skip
    if ok:
        assert center_from_dict(data).id == center_id
        return
    with pytest.raises(ConfigError) as e:
        center_from_dict(data, source="center.toml")
    assert (e.value.source, e.value.key) == ("center.toml", "center.id")


@pytest.mark.parametrize(
    "device_id", ["gateway", "tech-update", "tech-x", "console", "console-3", "Kiosk-1", "k/1", "a" * 33]
)
def test_reserved_and_bad_device_ids_refused(device_id):
    data = {"center": {"id": "x", "name": "X"}, "services": [{"code": "A", "name": "A", "field": "khac"}],
            "counters": [{"number": 1, "tiers": [["A"]]}], "devices": [{"id": device_id, "role": "hall"}]}  # fmt: skip
    with pytest.raises(ConfigError) as e:
        center_from_dict(data, source="center.toml")
    assert e.value.key == "devices[0].id"


def test_the_snapshot_words_are_the_dispatch_cores():
    """A snapshot's ticket states, its counter statuses and a bucket's outcome counts are the words
    the gateway's core says."""
    from contracts import sync
    from gateway.dispatch import state

    assert sync.TICKET_STATES == (state.WAITING, state.CALLED, state.SERVING)
    assert sync.COUNTER_STATUSES == (state.OPEN, state.PAUSED, state.CLOSED)
    assert {state.NO_SHOW, state.CANCELLED, state.UNFINISHED} <= set(sync.COUNTS)
