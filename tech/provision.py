"""Provisioning one board: from a board on USB to a device online at the gateway.

Steps, each reported pass or fail: the device in the center's configuration, the board
profile for its role, its MQTT account, the board's chip, the app compiled for it and copied,
its config.json and the center's CA (`ca.crt`: the board verifies the broker's TLS certificate,
and the gateway's HTTPS, against it), a reset, and its birth message (its `info` with the config
revision just written). When it does not come online, what the board printed says why.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boards
from contracts.topics import topic
from gateway import pki
from gateway.broker_auth import update_accounts
from gateway.config import CenterConfig, load_center

from .bundle import BOOT_SCRIPT, build, march
from .device import Device
from .watch import SessionLost, check_session, tech_client

COPY_CHUNK = 6  # files per mpremote session: the progress bar moves, the copy stays quick
BOARD_CA = "ca.crt"  # on the board: the center's CA in DER, which MicroPython's mbedTLS reads (config key "ca")


class ProvisionError(Exception):
    """A step that failed, with what the technician can do about it."""


@dataclass
class Report:
    steps: list[tuple[str, bool, str]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def ok(self, name: str, detail: str = "") -> None:
        self.steps.append((name, True, detail))

    def fail(self, name: str, detail: str) -> None:
        self.steps.append((name, False, detail))

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(ok for _, ok, _ in self.steps)


@dataclass(frozen=True)
class Target:
    """Where the board is to live: its center, id, board profile, Wi-Fi and broker."""

    center_file: Path
    device: str
    board: str
    wifi_ssid: str
    wifi_password: str
    broker_host: str
    broker_port: int  # the broker's TLS listener
    broker_dir: Path  # the gateway's broker files (secrets.toml, passwd, acl, ca.crt)
    local_broker: tuple[str, int] | None = None  # where this tool reaches the same broker, if not as the board does


def device_config(center: CenterConfig, target: Target, role: str, pins: dict, password: str, rev: str) -> dict:
    """The board's config.json: the one file the firmware reads at power-up (firmware/README.md)."""
    return {"role": role, "device": target.device, "center": center.id, "board": target.board, "rev": rev,
            "wifi": {"ssid": target.wifi_ssid, "password": target.wifi_password},
            "broker": {"host": target.broker_host, "port": target.broker_port, "password": password},
            "ca": BOARD_CA, "pins": pins}  # fmt: skip


def check_plan(target: Target) -> tuple[CenterConfig, str, dict[str, Any]]:
    """Everything that can be refused before touching the board: (center, role, pins)."""
    center = load_center(target.center_file)
    device = next((d for d in center.devices if d.id == target.device), None)
    if device is None:
        known = ", ".join(d.id for d in center.devices) or "none"
        raise ProvisionError(f"thiết bị {target.device!r} không có trong {target.center_file} (not in the center's "
                             f"configuration; add it under [[devices]] first); known: {known}")  # fmt: skip
    profile = boards.load(target.board)
    if device.role not in profile.roles:
        raise ProvisionError(f"profile {target.board} has no pins for a {device.role}; "
                             f"it has {', '.join(profile.roles)}")  # fmt: skip
    return center, device.role, profile.pins(device.role)


def account(center: CenterConfig, target: Target, reload: Callable[[], None]) -> tuple[str, bool]:
    """(the device's password, whether the account was just made)."""
    path = target.broker_dir / "secrets.toml"
    passwords = tomllib.loads(path.read_text())["passwords"] if path.exists() else {}
    created = target.device not in passwords
    if created:
        passwords = update_accounts(center, target.broker_dir)
        reload()
    return passwords[target.device], created


def provision(port: str, target: Target, work: Path, reload: Callable[[], None], timeout: float = 60,
              progress: Callable[[list[str]], Any] | None = None) -> Report:  # fmt: skip
    report = Report()
    center, role, pins = check_plan(target)
    report.ok("cấu hình (configuration)", f"{target.device}: {role} of {center.id}, board {target.board}")
    password, created = account(center, target, reload)
    report.ok("tài khoản MQTT (account)", "created, broker reloaded" if created else "exists")
    board = Device(port)
    facts = board.facts()
    want = boards.load(target.board).chip
    if facts.chip is not None and facts.chip != want:
        raise ProvisionError(f"the board on {port} is an {facts.chip}, but profile {target.board} is for {want}")
    report.ok("chip", f"{facts.chip or 'virtual board (unix port)'}, MicroPython {facts.version}")
    bundle = build(work / "bundle", march(facts.mpy))
    rev = secrets.token_hex(4)
    (work / "config.json").write_text(json.dumps(device_config(center, target, role, pins, password, rev)))
    (work / BOARD_CA).write_bytes(pki.der((target.broker_dir / "ca.crt").read_bytes()))
    (work / "current").write_text(bundle.version)
    (work / "main.py").write_text(BOOT_SCRIPT, encoding="utf-8")
    for folder in ("apps", f"apps/{bundle.version}"):
        board.mkdir(folder)
    pairs = [(bundle.folder / name, f"apps/{bundle.version}/{name}") for name in bundle.files]
    pairs += [
        (work / "current", "apps/current"),
        (work / "config.json", "config.json"),
        (work / BOARD_CA, BOARD_CA),
        (work / "main.py", "main.py"),
    ]
    chunks = [pairs[i : i + COPY_CHUNK] for i in range(0, len(pairs), COPY_CHUNK)]
    for chunk in progress(chunks) if progress else chunks:
        board.put(chunk)
    report.ok("ứng dụng (app)", f"{len(bundle.files)} files, bundle {bundle.version}; config rev {rev}")
    born = _watch_birth(center, target, rev)
    console = _Console(port)
    board.reset()
    console.start()
    info = born.wait(timeout)
    console.stop()
    report.console = console.lines
    if info is None:
        try:
            check_session(born.client)
            report.fail("trực tuyến (online)", diagnose(console.lines, target))
        except SessionLost as e:
            report.fail("trực tuyến (online)", str(e))
    else:
        report.ok(
            "trực tuyến (online)", f"app {info.get('app')} on {info.get('board')}, reset {info.get('reset_cause')}"
        )
    return report


def diagnose(lines: list[str], target: Target) -> str:
    """Why a board did not come online, from what it printed (firmware/README.md lists the lines)."""
    for line in reversed(lines):
        if line.startswith("wifi: cannot join"):
            return f"the board cannot join Wi-Fi {target.wifi_ssid!r}: check the name, the password, the signal"
        if line.startswith("mqtt: broker"):
            return f"the board cannot use the broker at {target.broker_host}:{target.broker_port}: {line}"
        if "Traceback" in line or "Error" in line:
            return f"the app stopped: {line}"
    return "no birth message in time and nothing on the console explains it: see the console below"


class _Birth:
    """Waits for the device's retained `info` carrying the config revision just written."""

    def __init__(self, client, rev: str):
        self.client, self.rev = client, rev
        self.info: dict | None = None
        self.event = threading.Event()

    def on_message(self, client, userdata, message) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if body.get("config_rev") == self.rev:
            self.info = body
            self.event.set()

    def wait(self, timeout: float) -> dict | None:
        self.event.wait(timeout)
        self.client.loop_stop()
        self.client.disconnect()
        return self.info


def _watch_birth(center: CenterConfig, target: Target, rev: str) -> _Birth:
    birth = _Birth(None, rev)
    broker = target.local_broker or (target.broker_host, target.broker_port)
    birth.client = tech_client("tech-provision", broker, target.broker_dir, birth.on_message, birth.event.set)
    birth.client.subscribe(topic(center.id, target.device, "info"), qos=1)
    return birth


class _Console:
    """The board's serial console read in the background (pyserial: a USB port or socket://)."""

    def __init__(self, port: str):
        self.port, self.lines = port, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _read(self) -> None:
        import serial

        time.sleep(0.3)  # the reset's own connection first
        try:
            with serial.serial_for_url(self.port, baudrate=115200, timeout=0.2) as line:
                buffer = b""
                while not self._stop.is_set():
                    buffer += line.read(256)
                    *done, buffer = buffer.split(b"\n")
                    self.lines += [d.decode(errors="replace").strip() for d in done if d.strip()]
        except (OSError, serial.SerialException) as e:
            self.lines.append(f"(console: {e})")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
