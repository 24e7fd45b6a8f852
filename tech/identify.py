"""identify and keypad test: commands to a running board through the gateway's broker.

A kiosk blinks its LED and prints the test ticket (every Vietnamese glyph, a big number, a QR
code); a counter shows 8888, or in keypad-test mode each key pressed instead of acting on it; a
hall board lights every LED. After `seconds` each goes back to what it showed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from contracts.topics import expires, topic
from gateway.config import CenterConfig
from gateway.ticket import blocks_rev, test_ticket

from .watch import check_session, tech_client


class IdentifyError(Exception):
    pass


def messages(
    center: CenterConfig, device_id: str, seconds: int, keypad_test: bool, now: float
) -> list[tuple[str, dict]]:
    """(leaf, body) to publish, in order."""
    device = next((d for d in center.devices if d.id == device_id), None)
    if device is None:
        raise IdentifyError(f"no device {device_id!r} in the center's configuration")
    if keypad_test and device.role != "counter":
        raise IdentifyError(f"{device_id} is a {device.role}: only a counter has a keypad")
    exp = expires(now, 60)
    out = [("cmd/identify", {"exp": exp, "seconds": seconds, "keypad_test": keypad_test})]
    if device.role == "kiosk":
        blocks, ops = test_ticket(center, device.printer)
        rev = blocks_rev(center, device.printer)  # the kiosk's cached set stays as it is
        out += [
            ("cmd/config", {"exp": exp, **part})
            for name, raster in blocks.items()
            for part in raster.to_messages(name, rev)
        ]
        out.append(("cmd/print", {"exp": exp, "ticket": "TEST", "ops": ops}))
    return out


def send(center: CenterConfig, device_id: str, broker: tuple[str, int], broker_dir: Path, seconds: int = 10,
         keypad_test: bool = False) -> int:  # fmt: skip
    plan = messages(center, device_id, seconds, keypad_test, time.time())
    try:
        client = tech_client("tech-identify", broker, broker_dir)
    except OSError as e:
        raise IdentifyError(f"cannot reach the broker at {broker[0]}:{broker[1]}: {e}") from e
    try:
        for leaf, body in plan:
            message = json.dumps(body, ensure_ascii=False)
            client.publish(topic(center.id, device_id, leaf), message, qos=1).wait_for_publish(10)
            check_session(client)
    except RuntimeError as e:  # paho: the connection went away under the publish
        check_session(client)
        raise IdentifyError(f"the broker at {broker[0]}:{broker[1]} went away: {e}") from e
    finally:
        client.disconnect()
        client.loop_stop()
    return len(plan)
