"""The MQTT topic tree between a center's boards and its gateway (docs/protocol.md).

<prefix>/v1/<center>/<device>/status      retained, device → all: "online" / "lost" (last will)
<prefix>/v1/<center>/<device>/info        retained, device → gateway: what the board is
<prefix>/v1/<center>/<device>/tele        QoS 0, device → gateway: health, every minute
<prefix>/v1/<center>/<device>/evt         QoS 1, device → gateway: a press or a key, with an id
<prefix>/v1/<center>/<device>/ack         QoS 1, gateway → device: the event is durable
<prefix>/v1/<center>/<device>/cmd/<name>  QoS 1, gateway → device: print, identify, ...
<prefix>/v1/<center>/<device>/display     retained, gateway → device: what to show
<prefix>/v1/<center>/gateway/status       retained, gateway → all
<prefix>/v1/<center>/gateway/time         QoS 0, gateway → all: the time, which no board keeps
"""

from __future__ import annotations

import math

from .ids import GATEWAY

PREFIX = "hangcho"
VERSION = "v1"

STATUS, INFO, TELE, EVT = "status", "info", "tele", "evt"
ACK, DISPLAY, CMD = "ack", "display", "cmd"
FROM_DEVICE = (STATUS, INFO, TELE, EVT)
TO_DEVICE = (ACK, DISPLAY, CMD)
BOARD_READS = (ACK, CMD + "/#", DISPLAY)  # what a board subscribes to on its own branch
QOS = {STATUS: 1, INFO: 1, TELE: 0, EVT: 1}

COMMANDS = ("print", "identify", "reboot", "update", "config")
CONFIG_KINDS = ("block", "blocks_done")  # cmd/config: the kiosk's raster blocks
PRINT_OPS = ("img", "txt", "big", "qr", "cut")  # cmd/print: a ticket's operations (gateway/ticket.py)
STATUS_ONLINE, STATUS_LOST = "online", "lost"
TIME = "time"  # the gateway's leaf: {"ms": Unix time in milliseconds}
TIME_EVERY_S = 10.0  # and on the gateway's connect and a board's coming online
COMMAND_TTL_S = 30.0  # a command not delivered within this is dropped by the board, never shown late
# The largest payload the gateway sends a board, in bytes. A board's heap is fragmented: after
# its imports and a TLS session, 47 KB free on a smaller heap held no 3.6 KB hole (a block
# sent whole). Raster blocks go in parts of BLOCK_PART_BYTES of rows (base64 in JSON).
BOARD_MESSAGE_MAX = 1024
BLOCK_PART_BYTES = 576


def base(center: str, device: str, prefix: str = PREFIX) -> str:
    return f"{prefix}/{VERSION}/{center}/{device}/"


def topic(center: str, device: str, leaf: str, prefix: str = PREFIX) -> str:
    return f"{prefix}/{VERSION}/{center}/{device}/{leaf}"


def gateway_status(center: str, prefix: str = PREFIX) -> str:
    return topic(center, GATEWAY, STATUS, prefix)


def gateway_time(center: str, prefix: str = PREFIX) -> str:
    return topic(center, GATEWAY, TIME, prefix)


def expires(now: float, ttl_s: float) -> int:
    """A command's `exp`: whole Unix seconds, rounded up. A board compares it in integers (its
    floats are 32-bit: 1.8e9 s in one is off by up to 64 s)."""
    return math.ceil(now + ttl_s)


def center_branch(center: str, prefix: str = PREFIX) -> str:
    return f"{prefix}/{VERSION}/{center}/#"


def split(name: str, center: str, prefix: str = PREFIX) -> tuple[str, str] | None:
    """(device, leaf) of an upward topic of this center, or None."""
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != prefix or parts[1] != VERSION or parts[2] != center:
        return None
    if parts[4] not in FROM_DEVICE:
        return None
    return parts[3], parts[4]
