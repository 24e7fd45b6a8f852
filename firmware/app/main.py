# The board's program: read config.json (written by provisioning), bring up Wi-Fi, count the
# boot, open the outbox, and run the role's app beside the link to the gateway, all on asyncio.
import asyncio
import gc
import json
import sys
import time

import esp32
import network
import ota
import trust
from buttons import Buttons
from link import Link
from machine import WDT, reset, reset_cause
from mqtt import MQTTClient
from outbox import Outbox, next_boot

APP_VERSION = "0.1.0"


def _chip_celsius():
    """The chip's own temperature: a board in a closed kiosk box in a hot hall shows up early."""
    celsius = getattr(esp32, "mcu_temperature", None)  # ESP32-S2/S3/C3
    if celsius:
        return celsius()
    return int((esp32.raw_temperature() - 32) * 5 / 9)  # the classic ESP32 reports Fahrenheit


class Updates:
    """cmd/update and cmd/reboot, and a trial bundle's fate: committed after `ota_healthy_s`
    online, rolled back by a reset when it is not healthy within `ota_deadline_s`
    (firmware/app/ota.py)."""

    def __init__(self, link, info, cfg):
        self.link, self.info = link, info
        self.healthy_s = int(ota.read("healthy_s") or cfg.get("ota_healthy_s", 30))
        self.deadline_s = cfg.get("ota_deadline_s", 180)
        self.ca = cfg.get("ca", "ca.crt")  # the center's CA, put there by provisioning
        self.trying, self.online_since, self.started = ota.read("trying"), 0, time.time()
        self.booted = time.ticks_ms()  # on the gateway's clock once it is known (clock.py)
        self.task = None

    def wrap(self, role_command):
        def handle(name, body):
            if name == "update":
                self.task = asyncio.create_task(self.update(body))
            elif name == "reboot":
                # The broker may hand the same command over again after the reboot: only one
                # sent after this boot counts (`at`: whole Unix seconds; the link judges a
                # command only once it has the gateway's time, so now_ms is known here).
                if int(body.get("at", 0)) * 1000 > self.link.clock.now_ms(self.booted):
                    print("reboot")
                    reset()
            elif role_command:
                role_command(name, body)

        return handle

    async def update(self, body):
        try:
            ota.remove("failed")
            await ota.stage(body["host"], body.get("port", 443), body["path"], body["version"],
                            body.get("healthy_s", 30), self.ca)  # fmt: skip
            print("ota: staged", body["version"])
            reset()
        except Exception as e:  # the running bundle stays; the technician's tool reports it
            print("ota: update failed:", repr(e))

    def check(self, connected):
        """Every 100 ms: True when the trial was just committed (its info is to be sent again)."""
        if not self.trying:
            return False
        now = time.time()
        self.online_since = (self.online_since or now) if connected else 0
        if self.online_since and now - self.online_since >= self.healthy_s:
            ota.commit()
            print("ota: committed", self.trying)
            self.trying, self.info["trial"] = "", False
            return True
        if now - self.started > self.deadline_s:
            print("ota: the trial is not healthy; rolling back")
            reset()
        return False


async def _watch(link, app, wdt, stats, wlan, tele_s, updates):
    """Feed the watchdog, show the link on the LED, keep the live heap's high-water mark, and send
    telemetry every `tele_s` seconds (QoS 0: the next one replaces a lost one)."""
    n = 0
    started = time.time()
    while True:
        wdt.feed()
        app.show_link(link.client.connected)
        if updates.check(link.client.connected):
            await link.client.publish(link.base + "info", json.dumps(link.info()), retain=True)
        n += 1
        if n % 20 == 0:  # every 2 s: collect, then the live heap is what the app really holds
            gc.collect()
            stats["heap_peak"] = max(stats["heap_peak"], gc.mem_alloc())
            print("heap_peak", stats["heap_peak"], "free", gc.mem_free(), "outbox", len(link.outbox.pending))
        if n % (tele_s * 10) == 0 and link.client.connected:
            tele = {"uptime_s": int(time.time() - started), "rssi": wlan.status("rssi"), "free_heap": gc.mem_free(),
                    "reconnects": link.client.reconnects, "outbox": len(link.outbox.pending),
                    "chip_c": _chip_celsius()}  # fmt: skip
            tele.update(app.health())
            try:
                await link.client.publish(link.base + "tele", json.dumps(tele), qos=0)
            except Exception as e:  # a lost telemetry message is replaced by the next one
                print("tele:", repr(e))
        await asyncio.sleep_ms(100)


async def run(cfg):
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    wlan.connect(cfg["wifi"]["ssid"], cfg["wifi"]["password"])
    device, broker = cfg["device"], cfg["broker"]
    box = Outbox("outbox.log", device, next_boot("boot.count"))
    # Always TLS: the password in CONNECT never crosses the Wi-Fi in cleartext (docs/protocol.md, Security).
    client = MQTTClient(device, broker["host"], broker.get("port", 8883), device, broker["password"], keepalive=30,
                        ssl=trust.context(cfg["ca"]))  # fmt: skip
    link = Link(client, box, cfg["center"], device)
    link.ready, link.wifi_name = wlan.isconnected, cfg["wifi"]["ssid"]
    version = ".".join(str(n) for n in sys.implementation.version)
    info = {"role": cfg["role"], "app": APP_VERSION, "micropython": version, "board": cfg["board"],
            "config_rev": cfg.get("rev", ""), "reset_cause": reset_cause(),
            "bundle": ota.read("trying") or ota.read("current"), "trial": bool(ota.read("trying")),
            "mpy": getattr(sys.implementation, "_mpy", 0)}  # fmt: skip
    if ota.read("failed"):
        info["update_failed"] = ota.read("failed")
    if cfg["role"] == "kiosk":
        from kiosk import Kiosk

        app = Kiosk(cfg["pins"], link, info)
        buttons = Buttons(app.buttons, app.press)
    elif cfg["role"] == "counter":
        from counter import Counter

        app = Counter(cfg["pins"], link, info, cfg.get("forward_to", "Cơ quan chuyên môn"))
        buttons = app.keypad
    elif cfg["role"] == "hall":
        from hall import Hall

        app = Hall(cfg["pins"], link, info)
        buttons = Buttons([], None)  # the hall board has no buttons: an idle task
    else:
        raise ValueError("unknown role %s" % cfg["role"])
    updates = Updates(link, info, cfg)
    link.on_command = updates.wrap(link.on_command)
    gc.collect()
    stats = {"heap_peak": 0}
    tasks = [asyncio.create_task(link.run()), asyncio.create_task(buttons.run())]
    await _watch(link, app, WDT(timeout=8000), stats, wlan, cfg.get("tele_s", 60), updates)
    return tasks


def main(path="config.json"):
    with open(path) as f:
        cfg = json.load(f)
    asyncio.run(run(cfg))


if __name__ == "__main__":
    main()
