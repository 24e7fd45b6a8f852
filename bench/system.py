"""The system through Mosquitto, measured in one run on one broker:

- press_to_print_p50_ms / _p99_ms: a kiosk's press (its `evt`, QoS 1, over the broker's TLS
  listener as every board connects) until the gateway's `cmd/print` for that ticket reaches the
  kiosk, at 50 presses/s (the keys) and at 500/s (`…_500_per_s`). The real `hangcho-gateway run`
  process on the broker's local listener, its journal fsync'd on this disk.
- mqtt_rtt_p99_ms: the same trip without the gateway's work: an echo client in its own process
  answers each `evt` at once (bench/echo.py), at 50/s, the kiosk on the same TLS. The floor
  under press-to-print. The floor and the press at 50/s are measured in 3 alternating rounds
  (the gateway stopped for the floor), each figure the median of its rounds.
- tls_handshake_ms: the firmware's MQTT client (firmware/app/mqtt.py, the unix port) opening its
  session over TLS, verifying the broker against the center's CA: TCP, the TLS handshake and
  CONNECT / CONNACK, the median of 20; mqtt_connect_plain_ms the same without TLS.
- firmware_tls_heap_kb / firmware_tls_native_kb: what one TLS session costs the firmware, the
  MicroPython heap (32-bit terms) and mbedTLS's own memory outside it (the process's VmHWM).
- gateway_rss_mb: the gateway process's peak resident memory (VmHWM) after all of it.
  These presses come far faster than a kiosk's budget allows (docs/dispatch.md, Budgets): this
  gateway runs the demo center with its budgets raised, to measure the path, not the budget.
- flood_press_p50_ms / _p99_ms: seven kiosks' presses (each every 1.2 s) answered while an eighth
  kiosk's account floods 10,500 messages a second for 10 s (rig/flood.py: raw MQTT, new-id
  presses, junk, `info`, resent ids), default budgets; flood_sent_per_s and flood_accepted_per_s
  say the flood was real (written, and acknowledged by Mosquitto); flood_gateway_rss_mb.
- firmware_heap_peak_kb: the largest live heap of the kiosk, counter and hall firmware (the
  unix port, tech/hostboard.py) while printing, calling and showing calls, in 32-bit terms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from contracts.topics import gateway_status, topic
from gateway.config import DEMO_CENTER, load_center
from gateway.pki import der
from gateway.service import no_delay
from rig.broker import RIG_USER, Broker
from rig.flood import flood_center, percentile, run_flood
from rig.gateway import start_gateway
from tech.hostboard import MICROPYTHON, HostBoard

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 20
ROUNDS = 3  # of the floor and the press at 50/s, alternating


class Kiosk:
    """A paho kiosk that stamps each press and the print (or echo) that answers it. Its presses
    spread over the demo kiosk's six services: each numbers at most 999 tickets a day."""

    def __init__(self, broker: Broker, center: str, device: str = "kiosk-1"):
        self.center, self.device, self.seq = center, device, 0
        self.sent: dict[str, float] = {}  # event id → when published
        self.ticket_of: dict[str, str] = {}  # event id → ticket (from the ack)
        self.printed: dict[str, float] = {}  # ticket → when its cmd/print arrived
        self.echoed: dict[str, float] = {}  # event id → when its echo arrived
        self.gateway_up = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{device}")
        self.client.username_pw_set(device, broker.password(device))
        self.client.on_connect = lambda c, *a: c.subscribe(
            [
                (topic(center, device, "ack"), 1),
                (topic(center, device, "cmd/#"), 1),
                (gateway_status(center), 1),
            ]
        )
        self.client.on_message = self._message
        self.client.on_socket_open = no_delay  # as the firmware does (firmware/app/mqtt.py)
        self.client.tls_set(ca_certs=str(broker.files.ca))  # as every board: TLS, the broker verified
        self.client.connect("127.0.0.1", broker.tls_port)
        self.client.loop_start()

    def _message(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        leaf = msg.topic.rsplit("/", 2)
        if msg.topic.endswith("/gateway/status"):
            if msg.payload == b"online":
                self.gateway_up.set()
            return
        body = json.loads(msg.payload)
        if leaf[-1] == "print":
            self.printed.setdefault(body["ticket"], now)
        elif leaf[-1] == "echo":
            self.echoed.setdefault(body["id"], now)
        elif leaf[-1] == "ack":
            if not body.get("ok"):
                raise SystemExit(f"bench: a press was refused: {body}")
            self.ticket_of[body["id"]] = body["ticket"]

    def press(self) -> None:
        self.seq += 1
        event_id = f"{self.device}:1:{self.seq}"
        payload = json.dumps({"id": event_id, "kind": "press", "button": self.seq % 6, "priority": False})
        self.sent[event_id] = time.perf_counter()
        self.client.publish(topic(self.center, self.device, "evt"), payload, qos=1)

    def paced(self, rate: float, count: int) -> list[str]:
        """`count` presses at `rate` a second, on a fixed schedule (a late one does not push the rest)."""
        first, start = self.seq + 1, time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.press()
        return [f"{self.device}:1:{n}" for n in range(first, first + count)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("bench: no answer in time")
        time.sleep(0.01)


def rtt(kiosk: Kiosk, broker: Broker, center: str, count: int = 500) -> float:
    echo = subprocess.Popen([sys.executable, "-m", "bench.echo", "127.0.0.1", str(broker.port), center, kiosk.device,
                             RIG_USER, broker.password(RIG_USER)], cwd=ROOT)  # fmt: skip
    try:
        time.sleep(1.0)  # subscribed
        ids = kiosk.paced(50, count)
        wait_for(lambda: all(i in kiosk.echoed for i in ids), 30)
    finally:
        echo.terminate()
        echo.wait(timeout=10)
    trips = [(kiosk.echoed[i] - kiosk.sent[i]) * 1e3 for i in ids[WARMUP:]]
    return percentile(trips, 0.99)


def press_to_print(kiosk: Kiosk, rate: float, count: int) -> tuple[float, float]:
    ids = kiosk.paced(rate, count)
    wait_for(lambda: all(i in kiosk.ticket_of and kiosk.ticket_of[i] in kiosk.printed for i in ids), 60)
    trips = [(kiosk.printed[kiosk.ticket_of[i]] - kiosk.sent[i]) * 1e3 for i in ids[WARMUP:]]
    return percentile(trips, 0.5), percentile(trips, 0.99)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def firmware_heap(config, broker: Broker, folder: Path) -> dict[str, float]:
    """Each role's heap peak in KiB, 32-bit equivalent: the unix port here is 64-bit, and
    MicroPython sizes its heap in words (`-X heapsize=64wK`), so a peak of N bytes here is
    N / 2 on the ESP32's 32-bit words."""
    boards = {d: HostBoard(folder / d, role, d, config.id, ("127.0.0.1", broker.tls_port), broker.password(d),
                           ca=broker.files.ca)
              for d, role in (("kiosk-1", "kiosk"), ("counter-1", "counter"), ("hall-1", "hall"))}  # fmt: skip
    for b in boards.values():
        b.start()
    try:
        time.sleep(4)  # online, the kiosk's raster blocks received
        boards["counter-1"].key("0")  # open
        for i in range(6):
            boards["kiosk-1"].press(i % 2)
        for _ in range(4):
            for k in ("A", "C", "D"):  # call, start, complete: the hall shows each call
                boards["counter-1"].key(k)
        time.sleep(4.5)  # two more heap reports (every 2 s)
    finally:
        for b in boards.values():
            b.stop()
    return {f"firmware_heap_peak_kb_{b.role}": b.heap_peak() / 2 / 1024 for b in boards.values()}


RAISED = "\n[budgets]\npress_per_s = 1000\npress_burst = 1000\nmessages_per_s = 2000\nmessages_burst = 2000\n"


def flood(folder: Path) -> dict[str, float]:
    """The demo center with eight kiosks, default budgets: kiosk-2 floods, the others press."""
    center_file = folder / "flood-center.toml"
    center_file.write_text(flood_center(DEMO_CENTER.read_text(encoding="utf-8"), 8), encoding="utf-8")
    config = load_center(center_file)
    broker = Broker(config, folder / "flood-broker")
    gateway = start_gateway(center_file, broker.port, broker.files.secrets, folder / "flood.db", folder / "flood.log")
    try:
        watcher = Kiosk(broker, config.id, "kiosk-8")
        wait_for(watcher.gateway_up.is_set, 30)
        watcher.close()
        passwords = {d.id: broker.password(d.id) for d in config.devices if d.role == "kiosk"}
        r = run_flood(broker.port, config.id, passwords, "kiosk-2", 10_500, 10.0, 1.2, disk=folder)  # ≥ 10,000 surely
        if r.unanswered or r.others_refused:
            raise SystemExit(
                f"bench: during the flood {r.unanswered} presses unanswered, refused {r.others_refused[:3]}"
            )
        return {
            "flood_press_p50_ms": percentile(r.during_ms, 0.5),
            "flood_press_p99_ms": percentile(r.during_ms, 0.99),
            "flood_sent_per_s": r.sent_per_s,
            "flood_accepted_per_s": r.accepted_per_s,
            "flood_gateway_rss_mb": peak_rss_mb(gateway.pid),
        }
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        broker.stop()


CONNECTS = """
import asyncio, gc, sys, time
import trust
from mqtt import MQTTClient

async def main(port, password, tls, n):
    ctx = trust.context("ca.crt") if tls else None
    gc.collect()
    base, peak, took = gc.mem_alloc(), 0, []
    for _ in range(n):
        c = MQTTClient("kiosk-1", "127.0.0.1", port, "kiosk-1", password, keepalive=30, ssl=ctx)
        t = time.ticks_us()
        await c.connect(True)
        took.append(time.ticks_diff(time.ticks_us(), t))
        gc.collect()
        peak = max(peak, gc.mem_alloc() - base)
        await c.disconnect()
    with open("/proc/self/status") as f:
        hwm = [line.split()[1] for line in f.read().split("\\n") if line.startswith("VmHWM")][0]
    took.sort()
    print("result", took[len(took) // 2], peak, hwm)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3] == "tls", 20))
"""


def handshake(broker: Broker, folder: Path) -> dict[str, float]:
    """The firmware's MQTT client connecting 20 times over TLS and 20 times plain (the unix port,
    the board's 64 KB heap): the median connect, the heap one session holds, the process's VmHWM."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.crt").write_bytes(der(broker.files.ca.read_bytes()))
    (folder / "connects.py").write_text(CONNECTS)
    env = {**os.environ, "MICROPYPATH": f"{ROOT / 'firmware' / 'app'}:.frozen"}
    got = {}
    for mode, port in (("tls", broker.tls_port), ("plain", broker.port)):
        args = [str(MICROPYTHON), "-X", "heapsize=64wK", "connects.py", str(port), broker.password("kiosk-1"), mode]
        line = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, check=True, timeout=120).stdout
        got[mode] = [int(x) for x in line.split("result", 1)[1].split()]
    return {
        "tls_handshake_ms": got["tls"][0] / 1e3,
        "mqtt_connect_plain_ms": got["plain"][0] / 1e3,
        "firmware_tls_heap_kb": (got["tls"][1] - got["plain"][1]) / 2 / 1024,
        "firmware_tls_native_kb": float(got["tls"][2] - got["plain"][2]),
    }


def figures() -> dict[str, float]:
    config = load_center(DEMO_CENTER)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-system-", dir=ROOT / "bench") as tmp:
        folder = Path(tmp)
        raised = folder / "center-raised.toml"
        raised.write_text(DEMO_CENTER.read_text(encoding="utf-8") + RAISED, encoding="utf-8")
        broker = Broker(config, folder / "broker")
        out.update(handshake(broker, folder / "handshake"))
        kiosk = Kiosk(broker, config.id)
        gateway = None
        try:
            # The floor and the press in alternating rounds, each figure the median of the rounds:
            # on a shared machine one pause of a few hundred ms moves a single p99 (docs/performance.md).
            rtts, p50s, p99s = [], [], []
            for n in range(ROUNDS):
                rtts.append(rtt(kiosk, broker, config.id))
                kiosk.gateway_up.clear()
                gateway = start_gateway(raised, broker.port, broker.files.secrets, folder / "journal.db",
                                        folder / "gateway.log")  # fmt: skip
                wait_for(kiosk.gateway_up.is_set, 30)
                press_to_print(kiosk, 50, 100 if n == 0 else 40)  # the first ones pay for imports and caches
                p50, p99 = press_to_print(kiosk, 50, 500)
                p50s.append(p50)
                p99s.append(p99)
                if n < ROUNDS - 1:
                    gateway.terminate()
                    gateway.wait(timeout=10)
            out["mqtt_rtt_p99_ms"] = statistics.median(rtts)
            out["press_to_print_p50_ms"], out["press_to_print_p99_ms"] = (
                statistics.median(p50s),
                statistics.median(p99s),
            )
            p50, p99 = press_to_print(kiosk, 500, 2500)
            out["press_to_print_p50_ms_500_per_s"], out["press_to_print_p99_ms_500_per_s"] = p50, p99
            out["gateway_rss_mb"] = peak_rss_mb(gateway.pid)
            kiosk.close()
            gateway.terminate()
            gateway.wait(timeout=10)
            gateway = start_gateway(DEMO_CENTER, broker.port, broker.files.secrets, folder / "journal2.db",
                                    folder / "gateway2.log")  # fmt: skip
            heaps = firmware_heap(config, broker, folder / "boards")
            out.update(heaps)
            out["firmware_heap_peak_kb"] = max(heaps.values())
        finally:
            if gateway and gateway.poll() is None:
                gateway.terminate()
                gateway.wait(timeout=10)
            broker.stop()
        out.update(flood(folder))
    return out


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:40} {value:,.3f}")
