"""What the gateway knows of each board, and what needs a technician now.

Built from the boards' `status`, `info` and `tele` messages (docs/protocol.md).
An alert is raised only during opening hours: a kiosk switched off at night is
not news, one that drops off the network at 08:00 is. A board over its budget
(presses or keys refused) or flooding the gateway (messages shed at its inbox)
is news at any hour: it is what a stolen password looks like. That alert stays
until the board has been quiet for ABUSE_HOLD_S.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import CenterConfig
from .dispatch.businessday import opening_since
from .numbers import vi_int

PAPER_ALERTS = {"out": "hết giấy", "low": "sắp hết giấy"}
ABUSE_HOLD_S = 600.0


@dataclass(slots=True)
class Abuse:
    """Refusals of one kind since the alert started."""

    count: int = 0
    since: float = 0.0
    last: float = 0.0


@dataclass(slots=True)
class DeviceStatus:
    status: str = "unknown"
    status_since: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    tele: dict[str, Any] = field(default_factory=dict)
    last_seen: float | None = None
    tele_at: float | None = None  # when its last `tele` came: how old its paper state is
    over_budget: Abuse = field(default_factory=Abuse)  # presses or keys refused by the budget
    flooding: Abuse = field(default_factory=Abuse)  # messages shed at the inbox


class Registry:
    def __init__(self, config: CenterConfig):
        self.config = config
        self.entries = {d.id: DeviceStatus() for d in config.devices}

    def seen(self, device: str, leaf: str, data: Any, now: float) -> None:
        entry = self.entries[device]
        entry.last_seen = now
        if leaf == "status":
            if data != entry.status:
                entry.status, entry.status_since = data, now
        elif leaf == "info":
            entry.info = data
        elif leaf == "tele":
            entry.tele, entry.tele_at = data, now

    def abused(self, device: str, kind: str, count: int, now: float) -> bool:
        """`count` more refusals of `kind` ("over_budget" or "flooding") from a board; True when
        that starts a new alert."""
        entry = self.entries.get(device)
        if entry is None or count <= 0:
            return False
        abuse: Abuse = getattr(entry, kind)
        new = not abuse.count or not 0 <= now - abuse.last < ABUSE_HOLD_S
        if new:
            abuse.count, abuse.since = 0, now
        abuse.count += count
        abuse.last = now
        return new

    def is_open(self, now: float) -> bool:
        c = self.config
        return opening_since(now, c.timezone, c.opening_hours, c.open_days) is not None

    def alerts(self, now: float) -> list[dict[str, Any]]:
        """What needs attention now, in Vietnamese for the console and the logs."""
        alerts = self._abuse(now)
        if not self.is_open(now):
            return alerts
        for device in self.config.devices:
            entry = self.entries[device.id]
            if entry.status != "online":
                alerts.append({"device": device.id, "kind": "offline", "since": entry.status_since,
                               "message": f"Thiết bị {device.id} ({device.role}) mất kết nối"})  # fmt: skip
            paper = entry.tele.get("paper")  # whatever the board sent: a list or an object is no alert, and no crash
            if device.role == "kiosk" and isinstance(paper, str) and paper in PAPER_ALERTS:
                alerts.append({"device": device.id, "kind": f"paper_{paper}",
                               "message": f"Máy in của {device.id} {PAPER_ALERTS[paper]}"})  # fmt: skip
        return alerts

    def _abuse(self, now: float) -> list[dict[str, Any]]:
        alerts = []
        for device in self.config.devices:
            entry = self.entries[device.id]
            what = "lượt bấm" if device.role == "kiosk" else "phím"
            for kind, abuse, text in (
                ("over_budget", entry.over_budget, f"gửi quá nhiều {what}, vượt hạn mức: đã từ chối"),
                ("flooding", entry.flooding, "gửi tin nhắn dồn dập: đã bỏ qua"),
            ):
                if abuse.count and 0 <= now - abuse.last < ABUSE_HOLD_S:
                    message = f"Thiết bị {device.id} ({device.role}) {text} {vi_int(abuse.count)}"
                    alert = {"device": device.id, "kind": kind, "since": abuse.since, "count": abuse.count}
                    alerts.append(alert | {"message": message})
        return alerts

    def rows(self, now: float) -> list[dict[str, Any]]:
        """One row per board: role, binding, state and health, for `devices` and the web."""
        rows = []
        for device in self.config.devices:
            e = self.entries[device.id]
            binding = f"quầy {device.counter}" if device.role == "counter" else ",".join(device.buttons)
            rows.append({
                "device": device.id, "role": device.role, "binding": binding, "status": e.status,
                "app": e.info.get("app"), "bundle": e.info.get("bundle"), "trial": e.info.get("trial"),
                "update_failed": e.info.get("update_failed"), "board": e.info.get("board"),
                "last_seen_s": _age(e.last_seen, now), "tele_s": _age(e.tele_at, now),
                "rssi": e.tele.get("rssi"), "paper": e.tele.get("paper"),
                "reconnects": e.tele.get("reconnects"), "outbox": e.tele.get("outbox"), "chip_c": e.tele.get("chip_c"),
            })  # fmt: skip
        return rows


def _age(then: float | None, now: float) -> float | None:
    """Seconds since `then`; never below 0 (a clock set back puts `then` ahead of now)."""
    return None if then is None else max(0.0, round(now - then, 1))
