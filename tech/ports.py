"""Boards on USB: pyserial's port listing, filtered to the bridges ESP32 boards carry."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

# (USB vendor id, product id) → what it is. DevKitC boards carry a CP2102 or a CH340/CH9102
# bridge; the ESP32-S3 also has its own USB (USB-Serial/JTAG).
BRIDGES = {
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, 0x1001): "ESP32-S3 native USB",
}


class PortError(Exception):
    """No board, or more than one and no --port to choose."""


@dataclass(frozen=True)
class Found:
    device: str
    kind: str
    serial_number: str | None


def boards(ports=None) -> list[Found]:
    """The serial ports that look like an ESP32 board (`ports`: pyserial ListPortInfo objects)."""
    found = []
    for p in list_ports.comports() if ports is None else ports:
        kind = BRIDGES.get((p.vid, p.pid)) if p.vid is not None else None
        if kind:
            found.append(Found(p.device, kind, p.serial_number))
    return sorted(found, key=lambda f: f.device)


def choose(port: str | None, found: list[Found]) -> str:
    """The port to use: the one given (a device path, or socket://host:port for a virtual board),
    else the only board on USB."""
    if port:
        return port
    if not found:
        raise PortError("không thấy bo mạch nào trên USB (no board found on USB): check the cable (a data cable, "
                        "not a charge-only one) and that the board's power LED is on")  # fmt: skip
    if len(found) > 1:
        names = ", ".join(f"{f.device} ({f.kind})" for f in found)
        raise PortError(f"several boards on USB: {names}; choose one with --port")
    return found[0].device
