"""The center configuration: the one home of its schema.

A center is described by one TOML file. Everything that needs to know what a
service, a counter or a priority class is imports it from here, so the core,
the demo, the gateway service and the tools agree on one shape. Validation
happens once, at load, and every error names the file, the key and the reason:
a technician editing the file in a hall with no developer around must be able
to fix it from the message alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts import catalog, ids
from contracts.validation import Validator, read_toml

from .numbers import vi_int

DEMO_CENTER = Path(__file__).parent / "centers" / "demo.toml"
"""The bundled example center: what `make demo`, the tests and the benchmarks run."""

PRIORITY_MODES = ("in_row", "ratio")


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    first: int = 1
    last: int = 999
    prior_minutes: float | None = None
    field: str = "khac"  # its field in the service catalog (contracts/catalog.py), which the province compares by

    @property
    def width(self) -> int:
        return max(3, len(str(self.last)))


@dataclass(frozen=True, slots=True)
class PriorityClass:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Counter:
    number: int
    name: str
    tiers: tuple[tuple[str, ...], ...]
    pin: str | None = None  # the staff console's PIN for this counter; no PIN, no console


@dataclass(frozen=True, slots=True)
class DispatchRules:
    priority_mode: str = "in_row"
    priority_limit: int = 2
    starvation_minutes: float = 45.0
    min_recalls_before_no_show: int = 2
    eta_min_samples: int = 5


@dataclass(frozen=True, slots=True)
class BudgetRules:
    """What one board may send (gateway/budget.py): each board has its own buckets of these sizes.

    The defaults are far above what a real hall does (a kiosk's printer takes seconds per ticket;
    a clerk's keys follow the voice calls) and far below what a flooding script does."""

    press_per_s: float = 1.0  # a kiosk's presses, sustained
    press_burst: int = 5  # … at once (a family pressing for three services)
    key_per_s: float = 0.5  # a counter's keys, sustained
    key_burst: int = 20  # … at once (complete, next, recall, recall, no-show, next …)
    drain: int = 64  # more events a board may bring back after being away: firmware's outbox (MAX_PENDING)
    messages_per_s: float = 100.0  # everything a board sends, at the gateway's door (the inbox)
    messages_burst: int = 200  # … at once; also how many of one board's messages may wait


@dataclass(frozen=True, slots=True)
class AlertRules:
    """When the queue itself needs a leader (gateway/dispatch/alerts.py): an alert when a figure is
    above its threshold. The defaults suit a commune center (a hall of 30-40 seats, 4-8 counters,
    services of 5-20 minutes): more than 30 waiting fills the seats; 15 in one service is two
    hours of work for its counter; an hour's wait is what citizens complain of; 20 minutes with no
    call at all is longer than the longest usual service, so every counter has stopped."""

    waiting: int = 30  # people waiting in the center
    service_waiting: int = 15  # … in one service
    longest_wait_minutes: int = 60  # the longest wait of anyone still waiting
    stall_minutes: int = 20  # people waiting, no number called (opening hours only)


ROLES = ("kiosk", "counter", "hall")
PRINTERS = {"58mm": 384, "80mm": 576}  # printer profile → dots per line


@dataclass(frozen=True, slots=True)
class Device:
    """A board in the hall: its role and what it is bound to."""

    id: str
    role: str
    counter: int | None = None  # counter: the counter it serves
    buttons: tuple[str, ...] = ()  # kiosk: the service of each button, in order
    priority_class: str | None = None  # kiosk: the class its priority button gives
    printer: str = "58mm"  # kiosk: printer profile


DEFAULT_AGENCIES = (
    "Chi nhánh Văn phòng đăng ký đất đai",
    "Công an xã, phường",
    "Bảo hiểm xã hội",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Xây dựng",
    "Ủy ban nhân dân tỉnh",
)  # the bodies a commune center forwards to (../shared/context.md); a center lists its own
MAX_AGENCIES, MAX_AGENCY = 30, 120


@dataclass(frozen=True, slots=True)
class CenterConfig:
    id: str
    name: str
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    priority_classes: tuple[PriorityClass, ...] = ()
    rules: DispatchRules = field(default_factory=DispatchRules)
    ward: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    devices: tuple[Device, ...] = ()
    public_url: str = ""  # where a phone follows its ticket: the province's https://<server>/c/<center>
    opening_hours: tuple[tuple[str, str], ...] = (("07:30", "11:30"), ("13:30", "17:00"))
    open_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays: 1 = Monday
    budgets: BudgetRules = field(default_factory=BudgetRules)
    agencies: tuple[str, ...] = DEFAULT_AGENCIES  # where "Chuyển hồ sơ đi" sends a filing, the console's list
    admin_pin: str | None = None  # the center admin's PIN: the voice recording page (/voice); none, no page
    alerts: AlertRules = field(default_factory=AlertRules)


def load_center(path: str | Path) -> CenterConfig:
    """Read and validate a center's TOML file."""
    return center_from_dict(read_toml(path), source=str(path))


def center_from_dict(data: dict[str, Any], source: str = "<config>") -> CenterConfig:
    """Validate a parsed configuration, in the file's reading order; raise ConfigError naming the key."""
    v = Validator(source)
    v.known(data, "", ("center", "dispatch", "budgets", "alerts", "catalog", "services", "priority_classes",
                       "counters", "devices"))  # fmt: skip
    center = v.table(data, "center")
    v.known(center, "center", ("id", "name", "ward", "timezone", "public_url", "opening_hours", "open_days",
                                "agencies", "admin_pin"))  # fmt: skip
    center_id = v.get(center, "center", "id", str)
    v.matches(center_id, "center.id", ids.center_id_problem)
    name = v.get(center, "center", "name", str)
    ward = v.get(center, "center", "ward", str, required=False, default="")
    public_url = v.get(center, "center", "public_url", str, required=False, default="")
    if public_url and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", public_url):
        v.fail("center.public_url", f"cần http://máy:cổng (need http://host:port), got {public_url!r}")
    tz = v.get(center, "center", "timezone", str, required=False, default="Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" names a folder: IsADirectoryError
        v.fail("center.timezone", f"múi giờ không tồn tại (unknown time zone) {tz!r}")
    rules = _rules(v, data.get("dispatch", {}))
    budgets = _budgets(v, data.get("budgets", {}))
    alerts = _alerts(v, data.get("alerts", {}))
    fields = _catalog(v, data.get("catalog", {}))
    services = tuple(_service(v, s, f"services[{i}]", fields) for i, s in enumerate(v.array(data, "services")))
    v.unique([s.code for s in services], "services", "code")
    codes = {s.code for s in services}
    classes = tuple(
        _priority_class(v, c, f"priority_classes[{i}]")
        for i, c in enumerate(v.array(data, "priority_classes", required=False))
    )
    v.unique([c.code for c in classes], "priority_classes", "code")
    counters = tuple(_counter(v, c, f"counters[{i}]", codes) for i, c in enumerate(v.array(data, "counters")))
    v.unique([c.number for c in counters], "counters", "number")
    known = _Known(codes, {c.code for c in classes}, {c.number for c in counters})
    devices = tuple(
        _device(v, d, f"devices[{i}]", known) for i, d in enumerate(v.array(data, "devices", required=False))
    )
    v.unique([d.id for d in devices], "devices", "id")
    hours, days = _opening(v, center)
    agencies = _agencies(v, center)
    admin_pin = _pin(v, center, "center", "admin_pin")
    return CenterConfig(
        center_id,
        name,
        services,
        counters,
        classes,
        rules,
        ward,
        tz,
        devices,
        public_url.rstrip("/"),
        hours,
        days,
        budgets,
        agencies,
        admin_pin,
        alerts,
    )


def _catalog(v: Validator, extra: Any) -> dict[str, str]:
    """The national service catalog and the fields the province added (`[catalog]` code = "name")."""
    v.require_table(extra, "catalog")
    try:
        return catalog.extended(extra)
    except ValueError as e:
        v.fail("catalog", str(e))


def _agencies(v: Validator, center: dict) -> tuple[str, ...]:
    agencies = v.get(center, "center", "agencies", list, required=False, default=list(DEFAULT_AGENCIES))
    if not 1 <= len(agencies) <= MAX_AGENCIES or not all(
        isinstance(a, str) and a.strip() == a and 0 < len(a) <= MAX_AGENCY for a in agencies
    ):
        v.fail("center.agencies", f"cần 1–{MAX_AGENCIES} tên cơ quan, mỗi tên 1–{MAX_AGENCY} ký tự "
               f"(need 1–{MAX_AGENCIES} names of 1–{MAX_AGENCY} characters), got {agencies!r}")  # fmt: skip
    for i, a in enumerate(agencies):
        if a in agencies[:i]:
            v.fail(f"center.agencies[{i}]", f"trùng lặp (duplicate) {a!r}")
    return tuple(agencies)


def _opening(v: Validator, center: dict) -> tuple[tuple[tuple[str, str], ...], tuple[int, ...]]:
    defaults = CenterConfig.__dataclass_fields__
    hours = v.get(center, "center", "opening_hours", list, required=False, default=None)
    if hours is None:
        parsed = defaults["opening_hours"].default
    else:
        parsed = []
        for i, span in enumerate(hours):
            m = (
                re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", span)
                if isinstance(span, str)
                else None
            )
            if m is None or span[:5] >= span[6:]:
                v.fail(
                    f"center.opening_hours[{i}]", f"cần dạng 07:30-11:30 (need HH:MM-HH:MM, start first), got {span!r}"
                )
            parsed.append((span[:5], span[6:]))
        parsed = tuple(parsed)
    days = v.get(center, "center", "open_days", list, required=False, default=list(defaults["open_days"].default))
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in days):
        v.fail("center.open_days", f"cần các số 1–7, 1 = thứ Hai (need 1–7, 1 = Monday), got {days!r}")
    return parsed, tuple(days)


@dataclass(frozen=True, slots=True)
class _Known:
    services: set[str]
    classes: set[str]
    counters: set[int]


def _device(v: Validator, d: Any, where: str, known: _Known) -> Device:
    v.require_table(d, where)
    v.known(d, where, ("id", "role", "counter", "buttons", "priority_class", "printer"))
    device_id = v.get(d, where, "id", str)
    v.matches(device_id, f"{where}.id", ids.device_id_problem)
    role = v.get(d, where, "role", str)
    if role not in ROLES:
        v.fail(f"{where}.role", f"chọn một trong {ROLES} (choose one of), got {role!r}")
    allowed = {"kiosk": ("buttons", "priority_class", "printer"), "counter": ("counter",), "hall": ()}[role]
    for key in ("counter", "buttons", "priority_class", "printer"):
        if key in d and key not in allowed:
            v.fail(f"{where}.{key}", f"không dùng cho vai trò {role} (not used by role {role})")
    if role == "counter":
        counter = v.get(d, where, "counter", int)
        if counter not in known.counters:
            v.fail(f"{where}.counter", f"quầy không tồn tại (unknown counter) {counter}")
        return Device(device_id, role, counter=counter)
    if role == "hall":
        return Device(device_id, role)
    buttons = v.get(d, where, "buttons", list)
    if not buttons or any(b not in known.services for b in buttons):
        v.fail(
            f"{where}.buttons", f"cần danh sách mã dịch vụ đã khai báo (need declared service codes), got {buttons!r}"
        )
    priority = v.get(d, where, "priority_class", str, required=False, default=None)
    if priority is not None and priority not in known.classes:
        v.fail(f"{where}.priority_class", f"diện ưu tiên không tồn tại (unknown priority class) {priority!r}")
    printer = v.get(d, where, "printer", str, required=False, default="58mm")
    if printer not in PRINTERS:
        v.fail(f"{where}.printer", f"chọn một trong {tuple(PRINTERS)} (choose one of), got {printer!r}")
    return Device(device_id, role, buttons=tuple(buttons), priority_class=priority, printer=printer)


def _service(v: Validator, s: Any, where: str, catalog: dict[str, str]) -> Service:
    v.require_table(s, where)
    v.known(s, where, ("code", "name", "first", "last", "prior_minutes", "field"))
    code = v.get(s, where, "code", str)
    if not ids.SERVICE_CODE.fullmatch(code):
        v.fail(f"{where}.code", f"phải là một chữ cái in hoa A–Z (must be one capital letter), got {code!r}")
    first = v.get(s, where, "first", int, required=False, default=1)
    last = v.get(s, where, "last", int, required=False, default=999)
    if not 0 <= first <= last <= 9999:
        v.fail(f"{where}.first", f"cần 0 ≤ first ≤ last ≤ 9999 (need 0 ≤ first ≤ last ≤ 9999), got {first}–{last}")
    prior = v.get(s, where, "prior_minutes", (int, float), required=False, default=None)
    if prior is not None and not (math.isfinite(prior) and prior > 0):
        v.fail(f"{where}.prior_minutes", f"phải dương (must be positive), got {prior}")
    name = v.get(s, where, "name", str)
    field_code = v.get(s, where, "field", str)
    if field_code not in catalog:
        v.fail(f"{where}.field", f"không có trong danh mục dịch vụ (not in the service catalog) {field_code!r}; "
               f"có (known): {', '.join(catalog)}")  # fmt: skip
    return Service(code, name, first, last, None if prior is None else float(prior), field_code)


def _priority_class(v: Validator, c: Any, where: str) -> PriorityClass:
    v.require_table(c, where)
    v.known(c, where, ("code", "name"))
    code = v.get(c, where, "code", str)
    if not ids.PRIORITY_CLASS.fullmatch(code):
        v.fail(f"{where}.code", f"chỉ a–z, 0–9, _ (only a–z, 0–9, _), got {code!r}")
    return PriorityClass(code, v.get(c, where, "name", str))


def _counter(v: Validator, c: Any, where: str, codes: set[str]) -> Counter:
    v.require_table(c, where)
    v.known(c, where, ("number", "name", "tiers", "pin"))
    number = v.get(c, where, "number", int)
    if not 1 <= number <= 999:
        v.fail(f"{where}.number", f"cần 1–999 (need 1–999), got {number}")
    tiers = v.get(c, where, "tiers", list)
    if not tiers:
        v.fail(f"{where}.tiers", "cần ít nhất một bậc dịch vụ (need at least one tier)")
    seen: set[str] = set()
    for t, tier in enumerate(tiers):
        if not isinstance(tier, list) or not tier or not all(isinstance(x, str) for x in tier):
            v.fail(f"{where}.tiers[{t}]", "mỗi bậc là danh sách mã dịch vụ (each tier is a list of service codes)")
        for code in tier:
            if code not in codes:
                v.fail(f"{where}.tiers[{t}]", f"dịch vụ không tồn tại (unknown service) {code!r}")
            if code in seen:
                v.fail(f"{where}.tiers[{t}]", f"dịch vụ {code!r} lặp lại (service listed twice)")
            seen.add(code)
    name = v.get(c, where, "name", str, required=False, default=f"Quầy {number}")
    return Counter(number, name, tuple(tuple(t) for t in tiers), _pin(v, c, where, "pin"))


def _pin(v: Validator, table: dict, where: str, key: str) -> str | None:
    """A PIN (a counter's, the admin's): 4–8 digits, quoted so a leading 0 stays."""
    pin = v.get(table, where, key, str, required=False, default=None)
    if pin is not None and not re.fullmatch(r"\d{4,8}", pin):
        v.fail(f"{where}.{key}", "cần 4–8 chữ số, trong dấu ngoặc kép (need 4–8 digits, quoted)")
    return pin


def _rules(v: Validator, d: Any) -> DispatchRules:
    v.require_table(d, "dispatch")
    defaults = DispatchRules()
    mode = v.get(d, "dispatch", "priority_mode", str, required=False, default=defaults.priority_mode)
    if mode not in PRIORITY_MODES:
        v.fail("dispatch.priority_mode", f"chọn một trong {PRIORITY_MODES} (choose one of), got {mode!r}")
    ints = {}
    for key, low in (("priority_limit", 1), ("min_recalls_before_no_show", 0), ("eta_min_samples", 1)):
        ints[key] = v.get(d, "dispatch", key, int, required=False, default=getattr(defaults, key))
        if ints[key] < low:
            v.fail(f"dispatch.{key}", f"phải ≥ {low} (must be ≥ {low}), got {ints[key]}")
    starve = v.get(d, "dispatch", "starvation_minutes", (int, float), required=False, default=45.0)
    if not (math.isfinite(starve) and starve > 0):
        v.fail("dispatch.starvation_minutes", f"phải dương (must be positive), got {starve}")
    v.known(d, "dispatch", ("priority_mode", "starvation_minutes", *ints))
    return DispatchRules(priority_mode=mode, starvation_minutes=float(starve), **ints)


def _budgets(v: Validator, d: Any) -> BudgetRules:
    v.require_table(d, "budgets")
    v.known(d, "budgets", tuple(BudgetRules.__dataclass_fields__))
    defaults, values = BudgetRules(), {}
    for key, f in BudgetRules.__dataclass_fields__.items():
        default = getattr(defaults, key)
        if f.type == "float":
            value = v.get(d, "budgets", key, (int, float), required=False, default=default)
            if not (math.isfinite(value) and value > 0):
                v.fail(f"budgets.{key}", f"phải dương (must be positive), got {value}")
            values[key] = float(value)
        else:
            low = 0 if key == "drain" else 1
            values[key] = v.get(d, "budgets", key, int, required=False, default=default)
            if values[key] < low:
                v.fail(f"budgets.{key}", f"phải ≥ {low} (must be ≥ {low}), got {values[key]}")
    return BudgetRules(**values)


ALERT_LIMITS = {"waiting": 20_000, "service_waiting": 20_000, "longest_wait_minutes": 1440, "stall_minutes": 1440}


def _alerts(v: Validator, d: Any) -> AlertRules:
    """Whole numbers from 1 to a day's worth; one service's threshold no higher than the center's
    (it could never be the first to ring)."""
    v.require_table(d, "alerts")
    v.known(d, "alerts", tuple(ALERT_LIMITS))
    defaults, values = AlertRules(), {}
    for key, high in ALERT_LIMITS.items():
        values[key] = v.get(d, "alerts", key, int, required=False, default=getattr(defaults, key))
        if not 1 <= values[key] <= high:
            v.fail(
                f"alerts.{key}", f"cần số nguyên 1–{vi_int(high)} (need a whole number 1–{high:,}), got {values[key]}"
            )
    if values["service_waiting"] > values["waiting"]:
        v.fail("alerts.service_waiting", f"không lớn hơn alerts.waiting = {values['waiting']} (must not exceed "
                                         f"alerts.waiting), got {values['service_waiting']}")  # fmt: skip
    return AlertRules(**values)
