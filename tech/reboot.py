"""Restarting one board from the gateway, and seeing it come back.

A reboot loses nothing (a board's unacknowledged presses wait on its flash), but it blanks a
counter's display for a few seconds, so a counter that is serving someone is left alone unless
the technician insists.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from contracts.topics import expires, topic
from gateway.config import CenterConfig

from .watch import BoardWatch, busy


class RebootError(Exception):
    pass


def reboot(center: CenterConfig, device: str, broker: tuple[str, int], broker_dir: Path, force: bool = False,
           timeout: float = 60) -> float:  # fmt: skip
    """Seconds from the command to the board's new `info` (it is online again)."""
    if device not in {d.id for d in center.devices}:
        raise RebootError(f"no device {device!r} in the center's configuration")
    try:
        boards = BoardWatch(center, "tech-reboot", broker, broker_dir)
    except OSError as e:
        raise RebootError(f"cannot reach the broker at {broker[0]}:{broker[1]}: {e}") from e
    try:
        if boards.wait(lambda: boards.info.get(device), 10) is None:
            raise RebootError(f"{device} has never reported its info: is it provisioned and online?")
        if busy(boards, device) and not force:
            shown = boards.display[device].get("text")
            raise RebootError(f"{device} is serving ticket {shown}: wait until it is done, or use --force")
        heard, sent = boards.infos[device], time.time()
        body = {"exp": expires(sent, 60), "at": int(sent)}  # whole seconds: a board's floats are 32-bit
        boards.client.publish(topic(center.id, device, "cmd/reboot"), json.dumps(body), qos=1)
        if boards.wait(lambda: boards.infos[device] > heard or None, timeout) is None:
            raise RebootError(f"{device} did not come back online within {timeout:g} s")
        return time.time() - sent
    finally:
        boards.close()
