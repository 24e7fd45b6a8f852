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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEMO_CENTER = Path(__file__).parent / "centers" / "demo.toml"
"""The bundled example center: what `make demo`, the tests and the benchmarks run."""

PRIORITY_MODES = ("in_row", "ratio")
_CODE_RE = re.compile(r"[A-Z]")
_CLASS_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


class ConfigError(ValueError):
    """A configuration file that cannot be used, with where and why."""

    def __init__(self, source: str, key: str, reason: str):
        self.source, self.key, self.reason = source, key, reason
        super().__init__(f"{source}: {key}: {reason}")


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    first: int = 1
    last: int = 999
    prior_minutes: float | None = None

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


ROLES = ("kiosk", "counter", "hall")
PRINTERS = {"58mm": 384, "80mm": 576}  # printer profile → dots per line
_DEVICE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# The broker's own accounts (gateway/broker_auth.py): a board's account is its device id, so a
# board named after one of these would log in as the gateway or a technician's tool.
RESERVED_DEVICE_IDS = frozenset({"gateway", "tech-provision", "tech-identify", "tech-reboot", "tech-update"})


@dataclass(frozen=True, slots=True)
class Device:
    """A board in the hall: its role and what it is bound to."""

    id: str
    role: str
    counter: int | None = None  # counter: the counter it serves
    buttons: tuple[str, ...] = ()  # kiosk: the service of each button, in order
    priority_class: str | None = None  # kiosk: the class its priority button gives
    printer: str = "58mm"  # kiosk: printer profile


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
    public_url: str = ""  # the gateway's pages as phones on the center's network reach them
    opening_hours: tuple[tuple[str, str], ...] = (("07:30", "11:30"), ("13:30", "17:00"))
    open_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays: 1 = Monday


def load_center(path: str | Path) -> CenterConfig:
    """Read and validate a center's TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "không tìm thấy tệp (file not found)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "-", f"TOML không hợp lệ (invalid TOML): {e}") from None
    return center_from_dict(data, source=str(path))


def center_from_dict(data: dict[str, Any], source: str = "<config>") -> CenterConfig:
    """Validate a parsed configuration, in the file's reading order; raise ConfigError naming the key."""
    v = _Validator(source)
    v.known(data, "", ("center", "dispatch", "services", "priority_classes", "counters", "devices"))
    center = v.table(data, "center")
    v.known(center, "center", ("id", "name", "ward", "timezone", "public_url", "opening_hours", "open_days"))
    center_id = v.get(center, "center", "id", str)
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
    services = tuple(_service(v, s, f"services[{i}]") for i, s in enumerate(v.array(data, "services")))
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
    return CenterConfig(
        center_id, name, services, counters, classes, rules, ward, tz, devices, public_url.rstrip("/"), hours, days
    )


def _opening(v: _Validator, center: dict) -> tuple[tuple[tuple[str, str], ...], tuple[int, ...]]:
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


def _device(v: _Validator, d: Any, where: str, known: _Known) -> Device:
    v.require_table(d, where)
    v.known(d, where, ("id", "role", "counter", "buttons", "priority_class", "printer"))
    device_id = v.get(d, where, "id", str)
    if not _DEVICE_RE.fullmatch(device_id):
        v.fail(f"{where}.id", f"chỉ a–z, 0–9, - (only a–z, 0–9, -; at most 32), got {device_id!r}")
    if device_id in RESERVED_DEVICE_IDS:
        v.fail(f"{where}.id", f"{device_id!r} là tên dành riêng cho tài khoản của broker (reserved for the broker's "
                              f"own accounts: {', '.join(sorted(RESERVED_DEVICE_IDS))})")  # fmt: skip
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


def _service(v: _Validator, s: Any, where: str) -> Service:
    v.require_table(s, where)
    v.known(s, where, ("code", "name", "first", "last", "prior_minutes"))
    code = v.get(s, where, "code", str)
    if not _CODE_RE.fullmatch(code):
        v.fail(f"{where}.code", f"phải là một chữ cái in hoa A–Z (must be one capital letter), got {code!r}")
    first = v.get(s, where, "first", int, required=False, default=1)
    last = v.get(s, where, "last", int, required=False, default=999)
    if not 0 <= first <= last <= 9999:
        v.fail(f"{where}.first", f"cần 0 ≤ first ≤ last ≤ 9999 (need 0 ≤ first ≤ last ≤ 9999), got {first}–{last}")
    prior = v.get(s, where, "prior_minutes", (int, float), required=False, default=None)
    if prior is not None and not (math.isfinite(prior) and prior > 0):
        v.fail(f"{where}.prior_minutes", f"phải dương (must be positive), got {prior}")
    name = v.get(s, where, "name", str)
    return Service(code, name, first, last, None if prior is None else float(prior))


def _priority_class(v: _Validator, c: Any, where: str) -> PriorityClass:
    v.require_table(c, where)
    v.known(c, where, ("code", "name"))
    code = v.get(c, where, "code", str)
    if not _CLASS_RE.fullmatch(code):
        v.fail(f"{where}.code", f"chỉ a–z, 0–9, _ (only a–z, 0–9, _), got {code!r}")
    return PriorityClass(code, v.get(c, where, "name", str))


def _counter(v: _Validator, c: Any, where: str, codes: set[str]) -> Counter:
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
    pin = v.get(c, where, "pin", str, required=False, default=None)
    if pin is not None and not re.fullmatch(r"\d{4,8}", pin):
        v.fail(f"{where}.pin", "cần 4–8 chữ số, trong dấu ngoặc kép (need 4–8 digits, quoted)")
    return Counter(number, name, tuple(tuple(t) for t in tiers), pin)


def _rules(v: _Validator, d: Any) -> DispatchRules:
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


class _Validator:
    """Type checks that name the key that failed."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str):
        raise ConfigError(self.source, key, reason)

    def known(self, table: dict, where: str, keys: tuple[str, ...]) -> None:
        """A misspelt key would silently fall back to its default: refuse it instead."""
        for key in table:
            if key not in keys:
                self.fail(
                    f"{where}.{key}" if where else key,
                    f"khóa không được hỗ trợ (unknown key); known: {', '.join(keys)}",
                )

    def require_table(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.fail(where, "phải là một bảng (must be a table)")

    def table(self, data: dict, key: str) -> dict:
        if key not in data:
            self.fail(key, "thiếu mục bắt buộc (missing required section)")
        self.require_table(data[key], key)
        return data[key]

    def array(self, data: dict, key: str, required: bool = True) -> list:
        if key not in data:
            if required:
                self.fail(key, "thiếu mục bắt buộc (missing required section)")
            return []
        if not isinstance(data[key], list) or (required and not data[key]):
            self.fail(key, "phải là danh sách bảng không rỗng (must be a non-empty array of tables)")
        return data[key]

    def get(self, table: dict, where: str, key: str, kind, required: bool = True, default=None):
        if key not in table:
            if required:
                self.fail(f"{where}.{key}", "thiếu khóa bắt buộc (missing required key)")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"{where}.{key}", f"cần kiểu {names} (expected {names}), got {value!r}")
        if isinstance(value, str) and not value.strip():
            self.fail(f"{where}.{key}", "không được để trống (must not be empty)")
        return value

    def unique(self, values: list, where: str, key: str) -> None:
        seen = set()
        for i, value in enumerate(values):
            if value in seen:
                self.fail(f"{where}[{i}].{key}", f"trùng lặp (duplicate) {value!r}")
            seen.add(value)
