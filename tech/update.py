"""Updating boards over the air, in waves, never in the middle of a service.

The bundle is built for the architecture each board reports (`info.mpy`) into the gateway's
ota folder, which the gateway serves at /ota/<version>/. Boards are told `cmd/update` a wave at
a time; the first wave is one board. A counter is updated only when nobody is at it (its
display is empty). A wave is done when each board reports the new bundle committed (`info`:
`bundle` = version, `trial` false); a board that rolls back (`update_failed` = version) or stays
silent stops the update before the next wave.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from contracts.topics import expires, topic
from gateway.config import CenterConfig

from .bundle import APP, build, march
from .watch import BoardWatch, busy


class UpdateError(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    center: CenterConfig
    devices: list[str]
    gateway_host: str  # as the boards reach the gateway's web server
    gateway_port: int
    ota_dir: Path
    broker: tuple[str, int]
    broker_dir: Path
    app: Path = APP
    wave: int = 2
    healthy_s: int = 30
    timeout_s: float = 300


def waves(devices: list[str], size: int) -> list[list[str]]:
    """One board first, then `size` at a time."""
    return [devices[:1], *[devices[i : i + size] for i in range(1, len(devices), size)]] if devices else []


def _bundle_for(plan: Plan, arch: str) -> str:
    staging = plan.ota_dir / f".build-{arch}"
    shutil.rmtree(staging, ignore_errors=True)
    bundle = build(staging, arch, plan.app)
    final = plan.ota_dir / bundle.version
    if final.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    return bundle.version


def run(plan: Plan, say=print) -> dict[str, str]:
    """Update every board of the plan; return device → outcome."""
    boards = BoardWatch(plan.center, "tech-update", plan.broker, plan.broker_dir)
    outcomes: dict[str, str] = {}
    try:
        for wave in waves(plan.devices, plan.wave):
            for device in wave:
                info = boards.wait(lambda d=device: boards.info.get(d), 10)
                if info is None:
                    raise UpdateError(f"{device} has never reported its info: is it provisioned and online?")
                version = _bundle_for(plan, march(info.get("mpy", 0)))
                if info.get("bundle") == version and not info.get("trial"):
                    outcomes[device] = f"already on {version}"
                    continue
                if busy(boards, device):
                    say(f"{device}: waiting until nobody is being served")
                boards.wait(lambda d=device: not busy(boards, d) or None, plan.timeout_s)
                body = {"exp": expires(time.time(), 120), "version": version, "host": plan.gateway_host,
                        "port": plan.gateway_port, "path": f"/ota/{version}/", "healthy_s": plan.healthy_s}  # fmt: skip
                boards.client.publish(topic(plan.center.id, device, "cmd/update"), json.dumps(body), qos=1)
                say(f"{device}: update to {version} sent")
                outcomes[device] = version
            for device in wave:
                version = outcomes[device]
                if version.startswith("already"):
                    continue
                done = boards.wait(lambda d=device, v=version: _outcome(boards.info.get(d, {}), v), plan.timeout_s)
                outcomes[device] = done or "no answer"
                say(f"{device}: {outcomes[device]}")
            if any(not (o.startswith("updated") or o.startswith("already")) for o in outcomes.values()):
                break  # a board rolled back or stayed silent: no further wave
    finally:
        boards.close()
    return outcomes


def _outcome(info: dict, version: str) -> str | None:
    if info.get("update_failed") == version:
        return f"rolled back from {version} to {info.get('bundle')}"
    if info.get("bundle") == version and not info.get("trial"):
        return f"updated to {version}"
    return None
