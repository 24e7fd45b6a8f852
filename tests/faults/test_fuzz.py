"""Fuzzing: 10,000 malformed MQTT payloads and HTTP bodies, each refused with a reason, and nothing changes.

Why: anything can arrive. A board with a firmware bug or a flipped bit on a weak Wi-Fi link, someone on the
center's network with a board's password, a gateway with a bug, a proxy that mangles bodies, a leaked token. None
of it may crash the gateway's worker (every kiosk in the hall would stop answering), answer 500 at the province, or
change the queue or the province's numbers; and the sender must be told why, because a board resends an event until
its ack comes and a gateway retries a batch until it gets an answer.

What is fuzzed, with hypothesis (a payload that happens to be valid is set aside with `assume` and not counted;
each kind of break gets its share of the cases, so a quick run tries every kind):

- Board messages, at the function level: `GatewayService.handle_group`, which the worker runs on what paho's
  on_message queued, with the real journal and a center in mid-morning (A001 served and rated, A002 called at
  counter 1, B001 waiting, counter 2 closed). `evt` of both kiosks, both counters and the hall board: raw bytes,
  invalid UTF-8, JSON of the wrong shape, valid events with one thing broken (id format, another board's id, kind,
  button, action and its fields, huge numbers, nested junk up to a thousand brackets deep, oversized, a field
  missing), and well-formed keys of the closed counter 2, which the core refuses. Each must be logged with its
  reason and answered with that reason when its id can be read (docs/protocol.md); nothing else is published, and
  the journal, the state and the boards' registry stay as they were. `info` and `tele` are free-form health: a JSON
  object (at most 16 deep) is kept as sent, and the alerts read from it in opening hours must not crash; anything
  else is refused with a reason. (`status` is not parsed: its text is the status.)
- The same kinds of `evt` and `tele` through the real Mosquitto to the running service, which must then still
  answer a press with A001 and hold nothing else in its journal.
- The staff console's POST /console/action, signed in with the CSRF token: 400 with a reason, nothing changed.
- The central server's POST /api/v1/sync with a valid token, on SQLite and on PostgreSQL: random bytes and JSON,
  and valid batches with one thing broken (each field of buckets and counter-days, seq, center, version, snapshot,
  a duplicate bucket, NUL, nesting, size, a seq already used). Each: a 4xx whose JSON gives the reason as
  server/openapi.json documents it, never a 5xx, every table unchanged; afterwards a valid batch still applies.

Sizes come from rounds(full, quick): 10,000 payloads in all under HANGCHO_FAULTS=full, 652 in `make test`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from contracts import ids
from contracts.sync import (
    COUNTER_COUNTS,
    COUNTER_HISTOGRAMS,
    COUNTER_SUMS,
    COUNTS,
    HISTOGRAMS,
    SUMS,
    empty_bucket,
    empty_snapshot,
)
from faults.checker import FULL, Score, integrity, issued, rounds
from gateway import protocol
from gateway.dispatcher import Dispatcher
from gateway.refusals import RefusalLog
from gateway.service import ConsoleRequest, GatewayService, MqttSettings
from gateway.web import create_app as gateway_app
from server import accounts, schema
from server.app import close
from server.app import create_app as server_app
from server.settings import Settings

# 5,000 + 500 + 1,000 + 1,750 on each of the two databases = 10,000 in a full run; 652 in a quick one.
GATEWAY, BROKER, CONSOLE, SYNC = rounds(5_000, 300), rounds(500, 100), rounds(1_000, 60), rounds(1_750, 96)
MAX_PAYLOAD = 2048  # bytes, docs/protocol.md
MAX_DEPTH = 16  # a board's JSON is flat; deeper is refused (gateway/protocol.py)
INT_MAX = 2**31 - 1  # the largest count the server's INTEGER columns hold (PostgreSQL)
OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "server" / "openapi.json").read_text(encoding="utf-8"))
DAY = "2026-11-23"  # a Monday
MORNING = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()  # the center is open


def fuzz(examples: int):
    """Exactly `examples` generated cases, no shrinking: the test counts what goes wrong rather than stopping at it.
    Quick runs are the same every time; full runs explore new cases."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not FULL,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def generated(strategy: st.SearchStrategy, examples: int, keep=lambda case: True) -> list:
    """`examples` cases drawn by hypothesis; those `keep` refuses are set aside, not counted. They are tried once
    hypothesis has returned: while it runs it raises Python's recursion limit, and the services must meet deeply
    nested JSON at the usual limit, as in production."""
    cases = []

    @fuzz(examples)
    @given(strategy)
    def draw(case) -> None:
        assume(keep(case))
        cases.append(case)

    draw()
    assert len(cases) == examples, f"hypothesis gave {len(cases)} of {examples} cases"
    return cases


def shares(total: int, kinds: tuple[str, ...]) -> dict[str, int]:
    """`total` cases shared out between `kinds` as evenly as whole numbers go."""
    return {kind: total // len(kinds) + (i < total % len(kinds)) for i, kind in enumerate(kinds)}


def note(score: Score, problems: list[str], what: object) -> None:
    if problems:
        score.unexpected += 1
        if len(score.notes) < 8:
            score.notes.append(f"{'; '.join(problems)[:400]} <- {what!r:.300}")


# -- JSON of any kind ------------------------------------------------------------------------------------------------
class Deep:
    """A value `n` lists deep, written into the JSON as text (json.dumps itself cannot go that deep)."""

    def __init__(self, n: int):
        self.n = n

    def __repr__(self) -> str:
        return f"Deep({self.n})"


def dumps(value: object) -> bytes:
    deep: list[int] = []

    def hold(v: object) -> str:
        if not isinstance(v, Deep):
            raise TypeError(v)
        deep.append(v.n)
        return f"\ue000{len(deep) - 1}\ue000"

    text = json.dumps(value, ensure_ascii=False, default=hold)
    for i, n in enumerate(deep):
        text = text.replace(f'"\ue000{i}\ue000"', "[" * n + "]" * n, 1)
    return text.encode()


HUGE = st.integers(2**31, 2**80) | st.integers(-(2**80), -1)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), HUGE, st.floats(), st.text(max_size=30))


def containers(kids: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids)


NESTED = st.recursive(SCALARS, containers, max_leaves=10)
JUNK = st.one_of(
    NESTED,
    st.integers(1, 40).map(Deep),
    st.integers(950, 1030).map(Deep),  # Python's json.loads gives up near 1,000; orjson at 1,024
)


def near(misses: tuple, junk: st.SearchStrategy = JUNK) -> st.SearchStrategy:
    """Half the time one of the values just beside the valid ones, else any junk."""
    return st.sampled_from((st.sampled_from(misses), junk)).flatmap(lambda kind: kind)


BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf4\x90\x80\x80", b"\xe2\x82")


def with_bad_utf8(payloads: st.SearchStrategy) -> st.SearchStrategy:
    """Each payload with a byte sequence that is not UTF-8 put in somewhere."""

    def insert(raw: bytes, bad: bytes, at: int) -> bytes:
        return raw[:at] + bad + raw[at:]

    return st.builds(insert, payloads, st.sampled_from(BAD_UTF8), st.integers(0, 200))


def junk_bodies(keys: tuple[str, ...]) -> st.SearchStrategy:
    """Bytes, invalid UTF-8, JSON of any shape, brackets deeper than Python's JSON parser goes (in 2,048 bytes),
    and objects made of the right keys with junk in them."""
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1000, 1024).map(lambda n: b"[" * n + b"]" * n),
        with_bad_utf8(st.dictionaries(st.sampled_from(keys), st.text(max_size=10), min_size=1).map(dumps)),
        JUNK.map(dumps),
        st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), JUNK, max_size=6).map(dumps),
    )


# -- board messages (docs/protocol.md) ----------------------------------------------------------------------------
ACTIONS = {  # each action's fields: (type, allowed values)
    **{action: {} for action in ("next", "recall", "start", "park", "open", "pause", "close")},
    "complete": {"outcome": (str, ("resolved", "forwarded", "returned")), "forwarded_to": (str, None)},
    "no_show": {"requeue": (bool, None)},
    "transfer": {"to_service": (str, None), "to_counter": (int, None)},
    "rate": {"ticket": (str, None), "score": (int, None)},
}
REQUIRED = {"rate": ("ticket", "score")}
VALUES = {str: st.text(max_size=20), int: st.integers(-5, 10), bool: st.booleans()}
CLOSED_COUNTER = "counter-2"  # closed all morning: the core refuses its keys, except these
ACCEPTED_WHEN_CLOSED = ("open", "pause", "close")  # open and pause change it; close is answered ok, nothing to do
EVENT_KEYS = ("id", "kind", "button", "priority", "action", *{f for fields in ACTIONS.values() for f in fields})
HEALTH_KEYS = (
    *("role", "app", "micropython", "board", "config_rev", "blocks_rev", "reset_cause", "bundle", "trial"),
    *("update_failed", "mpy", "uptime_s", "rssi", "free_heap", "reconnects", "outbox", "chip_c", "paper"),
)


def read(payload: bytes) -> dict | None:
    """The payload as the JSON object a board sends, or None if it cannot be one: too big, not UTF-8 JSON, not an
    object, nested deeper than MAX_DEPTH."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and depth(data) <= MAX_DEPTH else None


def depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def id_ok(device: str, value: object) -> bool:
    """`<device>:<boot>:<seq>`, the numbers in ASCII digits."""
    pattern = rf"{re.escape(device)}:[0-9]{{1,10}}:[0-9]{{1,10}}"
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def is_(value: object, kind: type, choices: tuple | None) -> bool:
    return type(value) is kind and (choices is None or value in choices)


def key_ok(data: dict) -> bool:
    """A counter's key as docs/protocol.md describes it (without its id)."""
    action = data.get("action")
    if type(action) is not str or action not in ACTIONS or any(f not in data for f in REQUIRED.get(action, ())):
        return False
    return all(f not in data or is_(data[f], *spec) for f, spec in ACTIONS[action].items())


def well_formed(device, data: dict | None) -> bool:
    if data is None or not id_ok(device.id, data.get("id")):
        return False
    if device.role == "kiosk":
        button, priority = data.get("button"), data.get("priority", False)
        return (
            data.get("kind") == "press"
            and is_(button, int, tuple(range(len(device.buttons))))
            and is_(priority, bool, None)
        )
    return device.role == "counter" and data.get("kind") == "key" and key_ok(data)


def event_ids(device: str | st.SearchStrategy) -> st.SearchStrategy:
    names = device if isinstance(device, st.SearchStrategy) else st.just(device)
    return st.builds(lambda d, boot, seq: f"{d}:{boot}:{seq}", names, st.integers(0, 10**9), st.integers(0, 10**9))


def bad_ids(device: str, others: list[str]) -> st.SearchStrategy:
    """Ids this board may not use: another board's, a wrong format, digits of another script, junk."""
    digits = st.text(alphabet="0123456789١٢٣٤٥٦٧٨٩٠", min_size=1, max_size=10)  # Arabic-Indic digits among them
    formats = ("{}:1", "{}:1:1:1", " {}:1:1", "{}:1:1\n", "{}::1", "{}:-1:1", "{}:12345678901:1", "{}-x:1:1")
    misses = (device.upper() + ":1:1", *(f.format(device) for f in formats))
    return st.one_of(
        event_ids(st.sampled_from(others)),
        st.builds(lambda boot, seq: f"{device}:{boot}:{seq}", digits, digits),
        near(misses, st.text(max_size=40) | JUNK),
    ).filter(lambda v: not id_ok(device, v))


@st.composite
def valid_event(draw, device) -> dict:
    event = {"id": draw(event_ids(device.id))}
    if device.role != "counter":
        event |= {"kind": "press", "button": draw(st.integers(0, max(len(device.buttons), 1) - 1))}
        if draw(st.booleans()):
            event["priority"] = draw(st.booleans())
        return event
    action = draw(st.sampled_from(sorted(ACTIONS)))
    event |= {"kind": "key", "action": action}
    for field, (kind, choices) in ACTIONS[action].items():
        if field in REQUIRED.get(action, ()) or draw(st.booleans()):
            event[field] = draw(st.sampled_from(choices) if choices else VALUES[kind])
    return event


MISSES = {  # values beside the valid ones, per type
    int: (-1, 2**31, 2**63, 10**30, True, False, 0.0, 1.5, "0", None, [0], {"0": 0}),
    str: (None, 0, True, [], {}, ["x"]),
    bool: (0, 1, "true", "false", None, []),
}


def bad_value(device, event: dict, field: str) -> st.SearchStrategy:
    """Junk for one field of a valid event that no board may send there."""
    if field == "button":
        return near((len(device.buttons), *MISSES[int])).filter(lambda v: not is_(v, int, range(len(device.buttons))))
    if field == "priority":
        return near(MISSES[bool]).filter(lambda v: type(v) is not bool)
    if field == "action":
        misses = ("NEXT", "next ", "call", "", "nex", *MISSES[str])
        return near(misses, JUNK | st.text(alphabet="nextpauseclos_", max_size=8)).filter(
            lambda v: not (isinstance(v, str) and v in ACTIONS)
        )
    kind, choices = ACTIONS[event["action"]][field]
    misses = MISSES[kind] + tuple(miss for choice in choices or () for miss in (choice.upper(), choice[:-1]))
    return near(misses).filter(lambda v: not is_(v, kind, choices))


BREAKS_EVENT = ("id", "kind", "field", "drop", "oversize", "deep")


@st.composite
def broken_event(draw, device, others: list[str], how: str | None = None) -> bytes:
    """A valid event with one thing broken: `how`, one of BREAKS_EVENT (any when None)."""
    event = draw(valid_event(device))
    fields = [f for f in event if f not in ("id", "kind")]
    how = how or draw(st.sampled_from(BREAKS_EVENT))
    if how == "id":
        event["id"] = draw(bad_ids(device.id, others))
    elif how == "kind":
        misses = ("key", "press", "KEY", "Press", "", *MISSES[str])
        event["kind"] = draw(near(misses).filter(lambda v: not (isinstance(v, str) and v == event["kind"])))
    elif how == "field":
        field = draw(st.sampled_from(fields))
        event[field] = draw(bad_value(device, event, field))
    elif how == "drop":
        required = ["id", "kind", "button" if "button" in event else "action", *REQUIRED.get(event.get("action"), ())]
        del event[draw(st.sampled_from(required))]
    elif how == "oversize":
        event["pad"] = "x" * draw(st.integers(MAX_PAYLOAD, 3 * MAX_PAYLOAD))
    else:  # deeper than MAX_DEPTH, up to deeper than Python's parser goes
        event[draw(st.sampled_from(sorted(event)))] = Deep(draw(st.integers(MAX_DEPTH, 1030)))
    return dumps(event)


def event_payloads(device, others: list[str]) -> st.SearchStrategy:
    kinds = (broken_event(device, others), junk_bodies(EVENT_KEYS), with_bad_utf8(valid_event(device).map(dumps)))
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


def health_payloads() -> st.SearchStrategy:
    """Two in three are JSON objects (to be kept as sent), `paper` often among their keys, with any value."""
    values = NESTED | st.integers(1, 40).map(Deep) | st.sampled_from(("ok", "low", "out", "unknown"))
    objects = st.dictionaries(st.sampled_from(HEALTH_KEYS) | st.text(max_size=8), values, max_size=8)
    oversized = st.integers(MAX_PAYLOAD, 3 * MAX_PAYLOAD).map(lambda n: dumps({"paper": "ok", "pad": "x" * n}))
    papers = near(("ok", "low", "out", "unknown", "OUT", [], ["out"], {}, {"low": 1}, 0, None, True), values)
    with_paper = st.builds(lambda data, paper: dumps(data | {"paper": paper}), objects, papers)
    kinds = (with_paper, objects.map(dumps), st.one_of(junk_bodies(HEALTH_KEYS), oversized))
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


MESSAGE_CASES = (*BREAKS_EVENT, "junk", "not UTF-8", "closed counter", "info", "tele")


@st.composite
def board_messages(draw, devices: dict, case: str) -> tuple[str, str, bytes]:
    """(device, leaf, payload) of one of MESSAGE_CASES, from any board of the center."""
    if case == "closed counter":  # well-formed keys of the closed counter: the core must refuse them
        return CLOSED_COUNTER, "evt", draw(valid_event(devices[CLOSED_COUNTER]).map(dumps))
    name = draw(st.sampled_from(sorted(devices, key=lambda d: (devices[d].role != "kiosk", d))))  # kiosks first
    if case in ("info", "tele"):
        return name, case, draw(health_payloads())
    if case == "junk":
        return name, "evt", draw(junk_bodies(EVENT_KEYS))
    if case == "not UTF-8":
        return name, "evt", draw(with_bad_utf8(valid_event(devices[name]).map(dumps)))
    return name, "evt", draw(broken_event(devices[name], [d for d in devices if d != name], case))


def core_refuses(device, data: dict | None) -> bool:
    """A well-formed key of the closed counter, which the core refuses in this state."""
    return device.id == CLOSED_COUNTER and well_formed(device, data) and data["action"] not in ACCEPTED_WHEN_CLOSED


# -- the gateway, fed by hand ---------------------------------------------------------------------------------------
class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@pytest.fixture
def gateway_log():
    """Every record of the gateway's logger, INFO and up, kept out of pytest's capture (there are thousands)."""
    handler, logger = Records(), logging.getLogger("hangcho.gateway")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


class Published:
    """Stands in for paho's client: what the service publishes, in order."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.sent.append((topic, payload))

    def take(self) -> list[tuple[str, bytes]]:
        taken, self.sent = self.sent, []
        return taken


MORNING_EVENTS = [  # (device, event) that make the fixture's mid-morning
    ("kiosk-1", {"kind": "press", "button": 0}),
    ("kiosk-1", {"kind": "press", "button": 0}),
    ("kiosk-1", {"kind": "press", "button": 1}),
    *(("counter-1", {"kind": "key", "action": a}) for a in ("open", "next", "start", "complete")),
    ("counter-1", {"kind": "key", "action": "rate", "ticket": "A001", "score": 5}),
    ("counter-1", {"kind": "key", "action": "next"}),
]


def deliver(service: GatewayService, device: str, leaf: str, payload: bytes) -> list[tuple[str, bytes]]:
    """One message, as the worker handles what paho queued; what the service published for it."""
    service.handle_group([(protocol.topic(service.config.id, device, leaf), payload)])
    return service.client.take()


@pytest.fixture
def desk_service(center, tmp_path):
    """The gateway service, not connected: its worker's step fed by hand, its publishes recorded, its clock at
    08:30 on a Monday, its journal holding the morning: A001 served and rated, A002 called at counter 1, B001
    waiting, counter 2 closed."""
    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    service = GatewayService(center, dispatcher, MqttSettings(), clock=lambda: MORNING)
    service.client = Published()
    service.refusals = RefusalLog(window_s=0)  # every refusal on its own line, not one per minute: each is checked
    for n, (device, event) in enumerate(MORNING_EVENTS, 1):
        sent = deliver(service, device, "evt", dumps({"id": f"{device}:1:{n}", **event}))
        assert json.loads(sent[-1][1])["ok"], sent
    tickets = dispatcher.state.tickets
    assert (tickets["A001"].rating, tickets["A002"].state, tickets["B001"].state) == (5, "called", "waiting")
    yield service
    dispatcher.close()


def observe(service: GatewayService, registry: bool = True) -> tuple:
    """What no refused message may change: the journal, the queue's state, the calls, the boards' registry."""
    seen = (service.dispatcher.journal.last_seq(), service.dispatcher.state.snapshot(), list(service.hall_calls))
    return (*seen, repr(service.registry.entries)) if registry else seen


def check_event(service, device, payload: bytes, log: Records) -> list[str]:
    """[] when an `evt` was refused with a reason (and answered with it if its id can be read) and changed nothing."""
    data, before = read(payload), observe(service)
    sent = deliver(service, device.id, "evt", payload)
    warnings = [r.getMessage() for r in log.take() if r.levelno >= logging.WARNING]
    problems = [] if observe(service) == before else ["the journal, state or registry changed"]
    acks = [json.loads(body) for topic, body in sent if topic.endswith(f"/{device.id}/ack")]
    if len(acks) != len(sent):
        problems.append(f"published more than an ack: {[topic for topic, _ in sent]}")
    if core_refuses(device, data):
        answer = acks[0] if len(acks) == 1 else {}
        if answer.get("id") != data["id"] or answer.get("ok") is not False or not answer.get("error"):
            problems.append(f"not refused by the core: {acks}")
        elif not str(answer.get("message", "")).strip() or warnings:
            problems.append(f"refused without its reason: {acks} {warnings}")
        return problems
    prefix = f"refused event from {device.id}: "
    reasons = [w.removeprefix(prefix) for w in warnings if w.startswith(prefix) and w.removeprefix(prefix).strip()]
    if len(warnings) != 1 or len(reasons) != 1:
        problems.append(f"not logged once with a reason: {warnings}")
    expected = []
    if data is not None and id_ok(device.id, data.get("id")):  # the board is told, so that it stops resending
        expected = [{"id": data["id"], "ok": False, "error": "malformed", "message": (reasons or [None])[0]}]
    if acks != expected:
        problems.append(f"answered {acks}, expected {expected}")
    return problems


def same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN is not NaN; its text is


def check_health(service, device, leaf: str, payload: bytes, log: Records) -> tuple[list[str], bool]:
    """An `info` or `tele`: a JSON object is kept as sent, anything else refused with a reason; the queue never
    changes and the alerts (read from tele during opening hours) never crash. Also says whether it was kept."""
    data, before, entry = read(payload), observe(service, registry=False), repr(service.registry.entries[device.id])
    sent = deliver(service, device.id, leaf, payload)
    warnings = [r.getMessage() for r in log.take() if r.levelno >= logging.WARNING]
    problems = [] if observe(service, registry=False) == before else ["the journal or state changed"]
    try:
        service.devices_report()
        service.check_alerts()
    except Exception as e:
        problems.append(f"the alerts crashed: {e!r}")
    log.take()  # the alerts' own lines
    blocks = device.role == "kiosk" and leaf == "info"  # a kiosk whose blocks differ gets them all again
    if any(not (blocks and topic.endswith("/cmd/config")) for topic, _ in sent):
        problems.append(f"published {[topic for topic, _ in sent]}")
    if data is None:
        prefix = f"refused {leaf} from {device.id}: "
        if len(warnings) != 1 or not warnings[0].startswith(prefix) or not warnings[0].removeprefix(prefix).strip():
            problems.append(f"not logged once with a reason: {warnings}")
        if repr(service.registry.entries[device.id]) != entry:
            problems.append("the registry changed")
    elif not same(getattr(service.registry.entries[device.id], leaf), data):
        problems.append("not kept as sent")
    return problems, data is not None


def test_fuzzed_board_messages_are_refused_with_a_reason_and_change_nothing(desk_service, gateway_log, scored):
    service = desk_service
    devices = {d.id: d for d in service.config.devices}
    score = Score("fuzz: board messages (gateway)", rounds=1)
    health: Counter = Counter()  # (leaf, kept)

    def invalid(message: tuple[str, str, bytes]) -> bool:
        name, leaf, payload = message
        data = read(payload)
        return leaf != "evt" or not well_formed(devices[name], data) or core_refuses(devices[name], data)

    messages = []
    for case, examples in shares(GATEWAY, MESSAGE_CASES).items():  # every kind of case, even in a quick run
        messages += generated(board_messages(devices, case), examples, invalid)
    for name, leaf, payload in messages:
        device = devices[name]
        score.operations += 1
        try:
            if leaf == "evt":
                problems = check_event(service, device, payload, gateway_log)
            else:
                problems, kept = check_health(service, device, leaf, payload, gateway_log)
                health[leaf, kept] += 1
        except Exception as e:  # a crash of the worker's step: in the service, the whole group would be lost
            problems = [f"crashed: {e!r}"]
        note(score, problems, (name, leaf, payload))
    assert all(health[leaf, kept] for leaf in ("info", "tele") for kept in (True, False)), health  # both were tried
    sent = deliver(service, "kiosk-2", "evt", dumps({"id": "kiosk-2:7:1", "kind": "press", "button": 0}))
    if json.loads(sent[-1][1]) != {"id": "kiosk-2:7:1", "ok": True, "ticket": "A003"}:
        note(score, ["a valid press afterwards was not A003"], sent)
    score.integrity = integrity(service.dispatcher.journal.path)
    scored(score)


# -- the same through the broker ------------------------------------------------------------------------------------
def refusal(ack: object) -> bool:
    """A `malformed` ack with its reason."""
    return (
        isinstance(ack, dict)
        and ack.get("ok") is False
        and ack.get("error") == "malformed"
        and bool(str(ack.get("message", "")).strip())
    )


def test_fuzzed_messages_through_the_broker_leave_the_service_answering(gateway, boards, gateway_log, scored):
    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    gateway.refusals = RefusalLog(window_s=0)  # every refusal on its own line: each is counted
    devices = {d.id: d for d in gateway.config.devices}
    score = Score("fuzz: board messages (through Mosquitto)", rounds=1)
    refusals: Counter = Counter()  # (device, leaf): how many must be logged
    acks: dict[str, Counter] = {"kiosk-1": Counter(), "counter-1": Counter()}  # refusal acks each board must get

    @st.composite
    def messages(draw) -> tuple[str, str, bytes]:
        name, leaf = draw(st.sampled_from((kiosk.id, counter.id))), draw(st.sampled_from(("evt", "evt", "evt", "tele")))
        others = [d for d in devices if d != name]
        return name, leaf, draw(event_payloads(devices[name], others) if leaf == "evt" else health_payloads())

    def invalid(message: tuple[str, str, bytes]) -> bool:
        return message[1] == "tele" or not well_formed(devices[message[0]], read(message[2]))

    sender = {kiosk.id: kiosk, counter.id: counter}
    for name, leaf, payload in generated(messages(), BROKER, invalid):
        score.operations += 1
        sender[name].publish(leaf, payload)
        data = read(payload)
        if leaf == "evt" or data is None:
            refusals[name, leaf] += 1
        if leaf == "evt" and data is not None and id_ok(name, data.get("id")):
            acks[name][data["id"]] += 1
    kiosk.boot = counter.boot = 9_999_999_999  # no fuzzed event that passes for valid has this boot count
    press, opened = kiosk.press(button=0), counter.key("open")  # sentinels: everything before them was handled
    answer = kiosk.wait_for("ack", lambda b: isinstance(b, dict) and b.get("id") == press and b.get("ok"), 15)
    counter.wait_for("ack", lambda b: isinstance(b, dict) and b.get("id") == opened and b.get("ok"), 15)
    logged = Counter()
    for record in gateway_log.take():
        m = re.match(r"refused (event|tele) from ([a-z0-9-]+): \S", record.getMessage())
        if m and record.levelno >= logging.WARNING:
            logged[m.group(2), "evt" if m.group(1) == "event" else "tele"] += 1
    if logged != refusals:
        note(score, [f"logged {dict(logged)}, expected {dict(refusals)}"], "reasons")
    for board in (kiosk, counter):
        got = Counter(a["id"] for a in board.all("ack") if refusal(a))
        if got != acks[board.id]:
            extra, missing = dict(got - acks[board.id]), dict(acks[board.id] - got)
            note(score, [f"{board.id}: refusals {extra} too many, {missing} missing"], "acks")
    if answer.get("ticket") != "A001" or [p["ticket"] for p in kiosk.all("cmd/print")] != ["A001"]:
        note(score, [f"the press afterwards: {answer}, prints {kiosk.all('cmd/print')}"], press)
    journal = gateway.dispatcher.journal.path
    if [(key, ticket) for key, _, ticket in issued(journal)] != [(press, "A001")]:
        note(score, [f"journal holds {issued(journal)}"], "journal")
    score.integrity = integrity(journal)
    scored(score)


# -- the staff console ----------------------------------------------------------------------------------------------
ACTION_BREAKS = ("request_id", "action", "field", "drop", "deep")
REQUEST_ID = "0123456789abcdef"
REQUEST_ID_MISSES = (REQUEST_ID.upper(), REQUEST_ID[1:], "0" * 33, REQUEST_ID + "\n", " " + REQUEST_ID, "g" * 16, "")


@st.composite
def broken_action(draw, counter, how: str) -> bytes:
    """A console action (the keypad's key, with a request id instead of the event's id) with one thing broken,
    `how`: one of ACTION_BREAKS."""
    body = draw(valid_event(counter))
    del body["id"], body["kind"]
    body["request_id"] = draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=32))
    fields = [f for f in body if f not in ("request_id", "action")]
    if how == "request_id":
        texts = JUNK | st.text(alphabet="0123456789abcdefABCDEF-\n ", max_size=40)
        misses = (*REQUEST_ID_MISSES, None, 123456789012345678, [REQUEST_ID])
        body["request_id"] = draw(near(misses, texts).filter(lambda v: not request_id_ok(v)))
    elif how == "action" or (how == "field" and not fields):
        body["action"] = draw(bad_value(counter, body, "action"))
    elif how == "field":
        field = draw(st.sampled_from(fields))
        body[field] = draw(bad_value(counter, body, field))
    elif how == "drop":
        del body[draw(st.sampled_from(["request_id", "action", *REQUIRED.get(body["action"], ())]))]
    else:
        body[draw(st.sampled_from(sorted(body)))] = Deep(draw(st.integers(1, 1100)))
    return dumps(body)


def request_id_ok(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch("[0-9a-f]{16,32}", value) is not None


def console_well_formed(body: bytes) -> bool:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and request_id_ok(data.get("request_id")) and key_ok(data)


def test_fuzzed_console_actions_are_refused_with_a_reason_and_change_nothing(desk_service, scored):
    service = desk_service

    def submit(command):  # the worker's own step, run at once
        request = ConsoleRequest(command)
        service.handle_group([request])
        return request.future.result(0)

    client = gateway_app(service.hub, service.read, submit, service.config, secret_key=b"fuzz" * 8).test_client()
    assert client.post("/console/login", data={"counter": 1, "pin": "2468"}).status_code == 302
    signed = {"X-CSRF-Token": re.search(r'data-csrf="([^"]+)"', client.get("/console").get_data(as_text=True))[1]}
    score = Score("fuzz: console actions (gateway)", rounds=1)
    counter_1 = next(d for d in service.config.devices if d.id == "counter-1")
    bodies = []
    for case, examples in shares(CONSOLE, (*ACTION_BREAKS, "junk")).items():
        strategy = junk_bodies(("request_id", *EVENT_KEYS)) if case == "junk" else broken_action(counter_1, case)
        bodies += generated(strategy, examples, lambda body: not console_well_formed(body))
    for body in bodies:
        score.operations += 1
        before = observe(service)
        try:
            r = client.post("/console/action", data=body, content_type="application/json", headers=signed)
            answer = r.get_json(silent=True) or {}
            problems = [] if r.status_code == 400 else [f"answered {r.status_code}"]
            if answer.get("ok") is not False or answer.get("error") != "malformed" or not answer.get("message"):
                problems.append(f"no reason: {r.get_data()[:200]!r}")
        except Exception as e:
            problems = [f"crashed: {e!r}"]
        if observe(service) != before:
            problems.append("the journal or state changed")
        note(score, problems, body)
    recalled = client.post("/console/action", json={"request_id": "f" * 16, "action": "recall"}, headers=signed)
    said = "Đã gọi lại số A002."  # what the console tells the clerk (gateway/console_keys.py)
    if recalled.get_json() != {"id": "console-1:" + "f" * 16, "ok": True, "ticket": "A002", "message": said}:
        note(score, ["a valid action afterwards did not recall A002"], recalled.get_json())
    score.integrity = integrity(service.dispatcher.journal.path)
    scored(score)


# -- the central server's sync API (docs/sync.md) -------------------------------------------------------------------
CENTER, OTHER_CENTER = "xa-tan-phu", "xa-an-binh"
BUCKET_COUNTS = (*COUNTS, *SUMS)
DAY_COUNTS = (*COUNTER_COUNTS, *COUNTER_SUMS)
TABLES = (schema.batches, schema.hourly, schema.counter_days, schema.snapshots, schema.centers, schema.gateways)
FIRST = {
    "center": CENTER,
    "seq": 1,
    "buckets": [empty_bucket(DAY, 8, "A") | {"issued": 3}],
    "counters": [{"day": DAY, "counter": 1, "served": 2}],
    "snapshot": empty_snapshot(time.time(), DAY),  # the server bounds taken_at by its clock
}


def real_day(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def counts(size: int) -> st.SearchStrategy:
    return st.lists(st.integers(0, 1000), min_size=size, max_size=size)


def rows(names: tuple[str, ...], hists: dict[str, int], keys: dict) -> st.SearchStrategy:
    """Valid buckets or counter-days, each key once."""
    optional = {n: st.integers(0, INT_MAX) for n in names} | {n: counts(size) for n, size in hists.items()}
    row = st.fixed_dictionaries(keys, optional=optional)
    return st.lists(row, max_size=3, unique_by=lambda r: tuple(r[k] for k in keys))


BUCKET_KEYS = {
    "day": st.sampled_from((DAY, "2026-11-24")),
    "hour": st.integers(0, 23),
    "service": st.sampled_from(("A", "B", "XYZ")),
}
BUCKETS = rows(BUCKET_COUNTS, HISTOGRAMS, BUCKET_KEYS)
COUNTER_DAYS = rows(DAY_COUNTS, COUNTER_HISTOGRAMS, {"day": st.just(DAY), "counter": st.integers(1, 999)})
SNAPSHOT = st.builds(
    lambda ago, waiting: empty_snapshot(time.time() - ago, DAY) | {"waiting": waiting},
    st.floats(0, 3600),
    st.lists(st.fixed_dictionaries({"service": st.just("A"), "name": st.text(max_size=20),
                                    "count": st.integers(0, 50), "longest_wait_s": st.integers(0, 9000)}), max_size=1),
)  # fmt: skip


COUNT_MISSES = (-1, INT_MAX + 1, 2**40, 2**63 - 1, 2**63, 2**64 - 1, 1.0, 0.5, True, False, "1", None, [], {})
DAY_MISSES = (f"{DAY}\n", "2026-02-30", "2026-13-01", " " + DAY, "٢٠٢٦-١١-٢٣", f"{DAY}T08:00", "20261123", "2026-1-2")


def bad_field(field: str) -> st.SearchStrategy:
    """Junk that docs/sync.md (and server/openapi.json) do not allow in one field of a bucket or counter-day."""
    if field == "day":
        texts = JUNK | st.text(alphabet="0123456789-\n ١", max_size=12)
        return near((*DAY_MISSES, "", None, 20261123), texts).filter(lambda v: not real_day(v))
    if field == "hour":
        return near((-1, 24, 8.0, True, "8", None, 2**31)).filter(lambda v: not is_(v, int, range(24)))
    if field == "service":
        misses = ("A\n", "a", "ABCD", "", "Á", "A1", "Ａ", None, 1)
        return near(misses).filter(lambda v: not (isinstance(v, str) and ids.SERVICE_CODE.fullmatch(v)))
    if field == "counter":
        return near((0, 1000, -1, 1.0, True, "1", None, 2**31)).filter(lambda v: not is_(v, int, range(1, 1000)))
    if field in HISTOGRAMS:
        size = HISTOGRAMS.get(field) or COUNTER_HISTOGRAMS[field]
        one_bad = st.tuples(counts(size), st.integers(0, size - 1), bad_field("issued"))
        return st.one_of(
            JUNK.filter(lambda v: not isinstance(v, list) and v is not None),  # null is a histogram of zeros
            st.lists(st.integers(0, 9), max_size=30).filter(lambda v: len(v) != size),
            one_bad.map(lambda t: [*t[0][: t[1]], t[2], *t[0][t[1] + 1 :]]),
        )
    return near(COUNT_MISSES).filter(lambda v: not is_(v, int, range(INT_MAX + 1)))


@st.composite
def valid_batch(draw) -> dict:
    body = {"center": CENTER, "seq": draw(st.integers(2, INT_MAX))}
    for name, strategy in (("buckets", BUCKETS), ("counters", COUNTER_DAYS), ("snapshot", SNAPSHOT)):
        if draw(st.booleans()):
            body[name] = draw(strategy)
    if draw(st.booleans()):
        body["version"] = 1
    return body


def break_row(draw, body: dict, name: str, key: bool) -> None:
    """One bucket (or counter-day) broken: its key's value if `key`, else a field's value, an unknown field, a key
    missing, or not an object at all."""
    listed = body.setdefault(name, [])
    if not listed:
        listed.append(empty_bucket(DAY, 8, "A") if name == "buckets" else {"day": DAY, "counter": 1})
    at = draw(st.integers(0, len(listed) - 1))
    row = listed[at]
    if name == "buckets":
        keys, fields = ("day", "hour", "service"), ("day", "hour", "service", *BUCKET_COUNTS, *HISTOGRAMS)
    else:
        keys, fields = ("day", "counter"), ("day", "counter", *DAY_COUNTS, *COUNTER_HISTOGRAMS)
    how = "value" if key else draw(st.sampled_from(("value", "value", "unknown", "drop", "not an object")))
    if how == "value":
        field = draw(st.sampled_from(keys if key else fields))
        row[field] = draw(bad_field(field))
    elif how == "unknown":
        row[draw(st.text(max_size=10).filter(lambda k: k not in fields))] = draw(JUNK)
    elif how == "drop":
        del row[draw(st.sampled_from(keys))]
    else:
        listed[at] = draw(JUNK.filter(lambda v: not isinstance(v, dict)))


BATCH_BREAKS = (
    *("center", "version", "seq", "list", "bucket", "bucket key", "counter-day", "counter-day key", "duplicate"),
    *("snapshot", "taken_at", "nul", "oversize", "conflict"),
)


@st.composite
def broken_batch(draw, how: str) -> bytes:
    """A valid batch with one thing broken, `how` (one of BATCH_BREAKS): the server must refuse it, saying why."""
    body = draw(valid_batch())
    if how == "center":
        misses = (f"{CENTER}\n", CENTER.upper(), "", "-xa", "xa_tan_phu", "a" * 64, OTHER_CENTER, "xa-khong-co", None)
        texts = JUNK | st.text(alphabet="abcxyz-_A\n0", max_size=70)
        body["center"] = draw(near(misses, texts).filter(lambda v: v != CENTER))  # another center's is a 403
    elif how == "version":
        body["version"] = draw(near((0, 2, "1", None, [1], 1.5, "v1")).filter(lambda v: v != 1))  # true, 1.0 pass
    elif how == "seq":
        body["buckets"] = body.get("buckets") or [empty_bucket(DAY, 9, "B")]  # only a batch without any may omit it
        misses = (0, -1, INT_MAX + 1, 2**40, 2**63, 1.0, 2.5, True, "2", None, [2])
        body["seq"] = draw(near(misses).filter(lambda v: not is_(v, int, range(1, INT_MAX + 1))))
    elif how == "list":
        name = draw(st.sampled_from(("buckets", "counters")))
        row = empty_bucket(DAY, 8, "A") if name == "buckets" else {"day": DAY, "counter": 1}
        body[name] = draw(JUNK.filter(lambda v: not isinstance(v, list | Deep)) | st.just([row] * 501))  # Deep(1) is []
    elif how.startswith(("bucket", "counter-day")):
        break_row(draw, body, "buckets" if how.startswith("bucket") else "counters", key=how.endswith("key"))
    elif how == "duplicate":
        name = draw(st.sampled_from(("buckets", "counters")))
        first = empty_bucket(DAY, 10, "C") if name == "buckets" else {"day": DAY, "counter": 7}
        body.setdefault(name, []).extend([first, {**first, "served": draw(st.integers(0, 9))}])
    elif how == "taken_at":
        misses = (True, False, 0, -1, 0.0, 1e11, 1e300, 2**64 - 1, "1", None, [], {})
        taken_at = draw(near(misses).filter(lambda v: not (type(v) in (int, float) and 0 < v < 1e11)))
        body["snapshot"] = draw(SNAPSHOT) | {"taken_at": taken_at}
    elif how == "snapshot":
        snapshot = draw(SNAPSHOT)
        change = draw(st.sampled_from(("junk", "drop", "deep")))
        if change == "junk":
            snapshot = draw(JUNK.filter(lambda v: not isinstance(v, dict) and v is not None))
        elif change == "drop":
            del snapshot["taken_at"]
        else:
            snapshot["more"] = Deep(draw(st.integers(16, 1100)))
        body["snapshot"] = snapshot
    elif how == "nul":  # PostgreSQL's jsonb cannot hold it, wherever it is
        text = draw(st.text(max_size=5)) + "\x00" + draw(st.text(max_size=5))
        where = draw(st.sampled_from(("value", "key", "snapshot")))
        if where == "snapshot":
            body["snapshot"] = draw(SNAPSHOT) | {"note": text}
        else:
            body.update({"note": text} if where == "value" else {text: 1})
    elif how == "oversize":
        body["pad"] = "x" * 1_000_001
    else:  # seq 1 again with another body: a conflict
        body.update(seq=1, buckets=[empty_bucket(DAY, 9, "B") | {"issued": draw(st.integers(0, 9))}])
    return dumps(body)


@pytest.fixture
def province(server_db):
    """The central server on SQLite or PostgreSQL with two centers, a token for the first, and one batch in."""
    app = server_app(Settings(database_url=server_db, secret_key="fuzz", stale_after_s=60, wait_p90_min=20))
    app.config["TESTING"] = True  # a crash is raised here, not hidden in a 500 page
    with app.extensions["hangcho.engine"].begin() as conn:
        accounts.add_center(conn, CENTER, "Trung tâm PVHCC xã Tân Phú", "Tân Phú")
        accounts.add_center(conn, OTHER_CENTER, "Trung tâm PVHCC xã An Bình", "An Bình")
        app.token = accounts.add_gateway(conn, CENTER)
    first = post(app, dumps(FIRST))
    assert first.status_code == 200 and first.get_json()["applied"] == 2, first.get_data()
    yield app
    close(app)


def post(app, body: bytes):
    headers = {"Authorization": f"Bearer {app.token}"}
    return app.test_client().post("/api/v1/sync", data=body, headers=headers, content_type="application/json")


def tables(app) -> dict:
    with app.extensions["hangcho.engine"].connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in TABLES}


def undocumented(response) -> str | None:
    """Why the answer is not what server/openapi.json documents for this status, or None."""
    documented = OPENAPI["paths"]["/api/v1/sync"]["post"]["responses"].get(str(response.status_code))
    if documented is None:
        return f"{response.status_code} is not documented"
    body_schema = {**documented["content"]["application/json"]["schema"], "components": OPENAPI["components"]}
    try:
        jsonschema.Draft202012Validator(body_schema).validate(response.get_json(silent=True))
    except jsonschema.ValidationError as e:
        return f"the body is not as documented: {e.message}"
    return None


def check_body(app, body: bytes) -> list[str]:
    """[] when the server refused the body with a 4xx naming the reason and wrote nothing."""
    before = tables(app)
    try:
        r = post(app, body)
    except Exception as e:
        return [f"crashed: {e!r}"]
    answer = r.get_json(silent=True) or {}
    problems = [] if 400 <= r.status_code < 500 else [f"answered {r.status_code}: {r.get_data()[:200]!r}"]
    if not str(answer.get("reason", "")).strip() or undocumented(r):
        problems.append(f"no documented reason: {undocumented(r)} {r.get_data()[:200]!r}")
    if tables(app) != before:
        problems.append("the database changed")
    return problems


def test_fuzzed_sync_bodies_are_refused_with_a_reason_and_change_nothing(province, server_db, scored):
    dialect = server_db.split(":", 1)[0].split("+")[0]
    score = Score(f"fuzz: sync bodies ({dialect})", rounds=1)
    keys = ("version", "center", "seq", "buckets", "counters", "snapshot")
    for how, examples in shares(SYNC, (*BATCH_BREAKS, "junk")).items():  # each kind of break, even in a quick run
        for body in generated(junk_bodies(keys) if how == "junk" else broken_batch(how), examples):
            score.operations += 1
            note(score, check_body(province, body), body)
    after = post(province, dumps({"center": CENTER, "seq": 2, "buckets": [empty_bucket(DAY, 9, "A") | {"issued": 1}]}))
    hourly = {(r[2], r[3]): r for r in tables(province)["hourly"]}
    if after.status_code != 200 or set(hourly) != {(8, "A"), (9, "A")}:
        note(score, [f"a valid batch afterwards: {after.status_code} {after.get_data()[:200]!r}"], sorted(hourly))
    if dialect == "sqlite":
        score.integrity = integrity(Path(server_db.removeprefix("sqlite:///")))
    scored(score)
