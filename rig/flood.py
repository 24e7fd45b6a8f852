"""A flooding board that is not the project's code: MQTT 3.1.1 packets built here from the
specification, written to a plain socket at a fixed rate, with the broker's PUBACKs counted.

One board account, one connection (the broker may bind client ids to usernames, so a second
connection would only kick the first off). What it sends is a mix the caller chooses: presses
with new ids, junk, `info`, and resends of ids already sent. `sent` counts what left the socket,
`acked` the PUBACKs the broker returned (what it accepted), `received` what the broker delivered
to the flooder (its own acks and commands, by topic leaf).

Used by tests/attacks/test_flood.py and `make bench` (bench/system.py, flood_press_p99_ms).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def _length(n: int) -> bytes:
    """MQTT's variable-length integer (spec 2.2.3)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, username: str, password: str, keepalive: int = 60) -> bytes:
    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    body += _string(client_id) + _string(username) + _string(password)
    return b"\x10" + _length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int, qos: int = 1, retain: bool = False) -> bytes:
    body = _string(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return bytes([0x30 | qos << 1 | retain]) + _length(len(body)) + body


def subscribe_packet(packet_id: int, topics: list[str], qos: int = 1) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(t) + bytes([qos]) for t in topics)
    return b"\x82" + _length(len(body)) + body


def flood_mix(device: str, boot: int = 7) -> Iterator[tuple[str, bytes, bool]]:
    """(leaf, payload, retain) forever: a quarter each of new-id presses, junk, `info` (an old
    blocks_rev, so each one asks for the raster blocks again) and resends of an earlier id."""
    seq = 0
    press = b'{"id":"%s:%d:%%d","kind":"press","button":0,"priority":false}' % (device.encode(), boot)
    junk = [b"\xff\xfe not json", b'{"id": "nope"}', b"[1, 2, 3]", b'{"id": "%s:1:1", "kind": "x"}' % device.encode()]
    info = json.dumps({"role": "kiosk", "app": "0.0.0", "blocks_rev": "000000000000"}).encode()
    n = 0
    while True:
        n += 1
        kind = n % 4
        if kind == 0:
            seq += 1
            yield "evt", press % seq, False
        elif kind == 1:
            yield "evt", junk[n // 4 % len(junk)], False
        elif kind == 2:
            yield "info", info, True
        else:
            yield "evt", press % max(1, seq - 3), False


class Flooder:
    """Connects as a board, then `run(rate, seconds)` publishes the mix at `rate` a second."""

    def __init__(self, port: int, center: str, device: str, password: str, host: str = "127.0.0.1",
                 prefix: str = "hangcho", listen: bool = True):  # fmt: skip
        self.base = f"{prefix}/v1/{center}/{device}/"
        self.device = device
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(connect_packet(f"flood-{device}", device, password))
        connack = self._read_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused {device}: {connack!r}")
        self.sock.settimeout(None)
        self.sent = 0
        self.sent_bytes = 0
        self.acked = 0
        self.started_at = self.last_ack_at = 0.0  # perf_counter of the first write, of the latest PUBACK
        self.received: Counter[str] = Counter()
        self.received_bytes = 0
        self._closed = False
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"flood-{device}", daemon=True)
        self._reader.start()
        if listen:  # a board subscribes to its own answers; reading them is part of the load
            self.sock.sendall(subscribe_packet(1, [self.base + "ack", self.base + "cmd/#"]))

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read(self) -> None:
        """Count PUBACKs and deliveries; answer the broker's QoS 1 deliveries with PUBACK."""
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                buf += chunk
                pos = 0
                while len(buf) - pos >= 2:
                    length, shift, i = 0, 0, pos + 1
                    while i < len(buf) and buf[i] & 0x80:
                        length |= (buf[i] & 0x7F) << shift
                        shift, i = shift + 7, i + 1
                    if i >= len(buf):
                        break
                    length |= (buf[i] & 0x7F) << shift
                    end = i + 1 + length
                    if len(buf) < end:
                        break
                    header = buf[pos]
                    if header >> 4 == 4:
                        self.acked += 1
                        self.last_ack_at = time.perf_counter()
                    elif header >> 4 == 3:
                        body = buf[i + 1 : end]
                        (tlen,) = struct.unpack("!H", body[:2])
                        self.received[body[2 : 2 + tlen].decode(errors="replace")[len(self.base) :]] += 1
                        self.received_bytes += length
                        if header & 0x06:  # QoS 1: the broker waits for our PUBACK
                            with self._lock:
                                if not self._closed:
                                    self.sock.sendall(b"\x40\x02" + body[2 + tlen : 4 + tlen])
                    pos = end
                buf = buf[pos:]
        except OSError:
            return

    def run(self, rate: float, seconds: float, mix: Iterator[tuple[str, bytes, bool]] | None = None,
            tick: float = 0.005) -> float:  # fmt: skip
        """Publish at `rate` messages a second for `seconds`, in a write every `tick`; return
        the seconds it really took (the rate reached is sent / that)."""
        mix = mix or flood_mix(self.device)
        per_tick = max(1, round(rate * tick))
        total = int(rate * seconds)
        pid = 1
        start = self.started_at = time.perf_counter()
        n = 0
        while n < total:
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            chunk = bytearray()
            for _ in range(min(per_tick, total - n)):
                leaf, payload, retain = next(mix)
                pid = pid % 65535 + 1
                chunk += publish_packet(self.base + leaf, payload, pid, retain=retain)
                n += 1
            with self._lock:
                self.sock.sendall(chunk)
            self.sent = n
            self.sent_bytes += len(chunk)
        return time.perf_counter() - start

    def wait_acked(self, timeout: float = 10.0) -> None:
        """Until the broker has answered every publish (or the timeout)."""
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            with contextlib.suppress(OSError):
                self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        self.sock.close()


def flood_center(base: str, kiosks: int = 8) -> str:
    """A center's TOML with kiosks `kiosk-1` … `kiosk-<kiosks>` (those missing added, with the
    buttons of the base's first kiosk): one to flood, the others to press beside it."""
    import tomllib

    data = tomllib.loads(base)
    have = {d["id"] for d in data.get("devices", [])}
    buttons = next(d["buttons"] for d in data["devices"] if d["role"] == "kiosk")
    extra = "".join(
        f'\n[[devices]]\nid = "kiosk-{n}"\nrole = "kiosk"\nbuttons = {json.dumps(buttons)}\n'
        for n in range(1, kiosks + 1)
        if f"kiosk-{n}" not in have
    )
    return base + extra


class Pressers:
    """Kiosks pressing as people do, beside a flood: each its own paho client and account, a press
    every `every` seconds (staggered), each press's time to its ack kept. The project's own
    client, as a kiosk is; only the flooder must be foreign."""

    def __init__(self, port: int, center: str, passwords: dict[str, str], prefix: str = "hangcho"):
        import paho.mqtt.client as mqtt

        self.sent: dict[str, float] = {}
        self.acks: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self.clients = {}
        for device, password in passwords.items():
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"press-{device}", protocol=mqtt.MQTTv311)
            client.username_pw_set(device, password)
            client.on_message = self._message
            subscribed = threading.Event()
            client.on_subscribe = lambda *a, done=subscribed: done.set()
            ack = f"{prefix}/v1/{center}/{device}/ack"
            client.on_connect = lambda c, *a, t=ack: c.subscribe(t, qos=1)
            client.on_socket_open = _no_delay
            client.connect("127.0.0.1", port)
            client.loop_start()
            if not subscribed.wait(10):
                raise ConnectionError(f"{device} could not subscribe")
            self.clients[device] = (client, f"{prefix}/v1/{center}/{device}/evt")
        self._seq = 0

    def _message(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        body = json.loads(msg.payload)
        with self._lock:
            self.acks.setdefault(body["id"], (now, body))

    def press_for(self, seconds: float, every: float) -> list[str]:
        """Each kiosk presses every `every` s for `seconds`; returns the ids pressed."""
        devices = list(self.clients)
        step = every / len(devices)
        start, ids, n = time.perf_counter(), [], 0
        while True:
            due = start + n * step
            if due - start >= seconds:
                return ids
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            device = devices[n % len(devices)]
            client, evt = self.clients[device]
            self._seq += 1
            event_id = f"{device}:1:{self._seq}"
            with self._lock:
                self.sent[event_id] = time.perf_counter()
            client.publish(
                evt, b'{"id":"%s","kind":"press","button":%d,"priority":false}' % (event_id.encode(), n % 2), qos=1
            )
            ids.append(event_id)
            n += 1

    def wait_acked(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(i in self.acks for i in ids):
                    return
            time.sleep(0.01)

    def latencies_ms(self, ids: list[str]) -> list[float]:
        """Press to ack, in ms, of the ids answered (sorted)."""
        with self._lock:
            return sorted((self.acks[i][0] - self.sent[i]) * 1e3 for i in ids if i in self.acks)

    def close(self) -> None:
        for client, _ in self.clients.values():
            client.disconnect()
            client.loop_stop()


def _no_delay(client, userdata, sock) -> None:
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


@dataclass
class FloodResult:
    """What a flood run measured: the flooder's side, the other boards' presses, the gateway."""

    seconds: float  # the flood, as long as it really took
    sent: int  # messages the flooder wrote
    accepted: int  # the broker's PUBACKs for them
    accepted_s: float  # from the first write to the last PUBACK
    received: dict[str, int]  # what the broker delivered to the flooder, by leaf
    received_bytes: int
    before_ms: list[float]  # the other boards' presses without the flood (the floor, same run)
    during_ms: list[float]  # … during it
    unanswered: int  # presses during the flood with no ack even after it
    fsync_ms: list[float]  # the disk's own fsync of 4 KiB, every 50 ms during the flood (the journal's floor)
    others_refused: list[dict] = field(default_factory=list)  # acks of the other kiosks that were not ok

    @property
    def sent_per_s(self) -> float:
        return self.sent / self.seconds

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.accepted_s


def fsync_probe(folder: Path, stop: threading.Event, out: list[float], every: float = 0.05) -> None:
    """Append 4 KiB and fsync, every `every` s until `stop`: what the disk gives the journal now."""
    path = folder / "fsync-probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    block = os.urandom(4096)
    try:
        while not stop.wait(every):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            out.append((time.perf_counter() - t0) * 1e3)
    finally:
        os.close(fd)
        path.unlink()


def run_flood(port: int, center: str, passwords: dict[str, str], flooder: str = "kiosk-2", rate: float = 10_000,
              seconds: float = 10.0, every: float = 1.2, before_s: float = 3.0, disk: Path | None = None
              ) -> FloodResult:  # fmt: skip
    """`before_s` of the other kiosks pressing alone, then `seconds` of them pressing while
    `flooder` sends `rate` messages a second (the mix of `flood_mix`). `disk`: the journal's
    folder, whose fsync is probed meanwhile."""
    others = {d: p for d, p in passwords.items() if d != flooder}
    pressers = Pressers(port, center, others)
    flood = Flooder(port, center, flooder, passwords[flooder])
    try:
        before = pressers.press_for(before_s, every)
        pressers.wait_acked(before, 10)
        took: list[float] = []
        fsyncs: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=fsync_probe, args=(disk, stop, fsyncs), daemon=True) if disk else None
        thread = threading.Thread(target=lambda: took.append(flood.run(rate, seconds)), name="flood")
        thread.start()
        if probe:
            probe.start()
        during = pressers.press_for(seconds, every)
        thread.join()
        stop.set()
        if probe:
            probe.join()
        flood.wait_acked(30)
        pressers.wait_acked(during, 30)
        during_ms = pressers.latencies_ms(during)
        accepted_s = max(flood.last_ack_at - flood.started_at, took[0])
        return FloodResult(took[0], flood.sent, flood.acked, accepted_s, dict(flood.received), flood.received_bytes,
                           pressers.latencies_ms(before), during_ms, len(during) - len(during_ms), sorted(fsyncs),
                           [ack for _, ack in pressers.acks.values() if not ack.get("ok")])  # fmt: skip
    finally:
        flood.close()
        pressers.close()
