# The board's link to the gateway: the MQTT session kept up, and the outbox drained through it.
#
# - Power-up: a clean session; every reconnect after that: the persistent one, so the broker
#   keeps what was sent to this board while it was away.
# - Reconnects back off 1, 2, 4 … 30 seconds; each (re)connect publishes `status` online (the
#   last will says "lost"), subscribes again, and sends every event still in the outbox.
# - An event leaves the outbox only on the gateway's ack for its id. Pending events are sent
#   again every RESEND_S: a broker restarted without its store, or a gateway that lost a message,
#   still gets it, and the gateway answers a repeated id with its first answer.
# - Commands past their `exp` are dropped: a stale call is never shown late. `exp` is judged by
#   the gateway's time (clock.py), never by the board's RTC. Before the first time (just after
#   power-up) a command is held, at most HELD_MAX of them; raster blocks (cmd/config) are
#   content, not a call, and are taken at once.
import asyncio
import json
import time

from clock import Clock
from micropython import const

RESEND_S = const(10)
BACKOFF_MAX_S = const(30)
WIFI_PATIENCE_MS = const(10000)
HELD_MAX = const(2)


class Link:
    def __init__(self, client, outbox, center, device, prefix="hangcho"):
        self.client, self.outbox = client, outbox
        self.base = "%s/v1/%s/%s/" % (prefix, center, device)
        self.time_topic = "%s/v1/%s/gateway/time" % (prefix, center)
        self.clock = Clock()
        self._held = []  # (name, body) of commands that came before the first time
        self.on_command = _ignore  # function(name, body)
        self.on_display = None  # function(body)
        self.on_ack = None  # function(body)
        self.info = None  # function() -> dict, published retained on each connect
        self.ready = _always_up  # is the Wi-Fi up? (network.WLAN.isconnected)
        self.wifi_name = ""  # for the console's "wifi: cannot join …"
        self._sent_at = {}  # event id -> when it was last published
        self._wake = asyncio.Event()
        client.set_last_will(self.base + "status", b"lost", retain=True)
        client.on_message = self._message

    def press(self, body):
        """Keep an event (on flash first) and send it as soon as the link allows."""
        event_id = self.outbox.add(body)
        self._wake.set()
        return event_id

    def _message(self, topic, payload):
        """One message from the gateway. The board outlives any one message: one it cannot parse,
        has no room for (MemoryError) or whose handler fails is named on the console and dropped."""
        leaf = topic[len(self.base) :] if topic.startswith(self.base) else topic
        try:
            if topic == self.time_topic:
                self._time(json.loads(payload))
            else:
                self._take(leaf, json.loads(payload))
        except Exception as e:
            print("link: dropped %s (%d bytes): %r" % (leaf, len(payload), e))

    def _time(self, body):
        ms = body.get("ms")
        if isinstance(ms, int) and ms > 0:
            self.clock.set(ms)
            held, self._held = self._held, []
            for name, command in held:
                self._command(name, command)

    def _command(self, name, body):
        if not self.on_command:
            return
        expired = self.clock.expired(body.get("exp", 0))
        if expired is None and name != "config":
            if len(self._held) < HELD_MAX:
                self._held.append((name, body))
                print("link: held %s until the gateway's time" % name)
            else:
                print("link: no time yet; dropped %s" % name)
        elif expired:
            print("link: expired %s" % name)
        else:
            self.on_command(name, body)

    def _take(self, leaf, body):
        if leaf == "ack":
            if self.outbox.ack(body.get("id", "")):
                self._sent_at.pop(body["id"], None)
                if self.on_ack:
                    self.on_ack(body)
        elif leaf.startswith("cmd/"):
            self._command(leaf[4:], body)
        elif leaf == "display" and self.on_display:
            self.on_display(body)

    async def run(self):
        clean, backoff = True, 1
        while True:
            await self._wait_for_wifi()
            try:
                await self.client.connect(clean)
                clean, backoff = False, 1
                for leaf in ("ack", "cmd/#", "display"):
                    await self.client.subscribe(self.base + leaf)
                await self.client.subscribe(self.time_topic, 0)
                await self.client.publish(self.base + "status", b"online", retain=True)
                if self.info:
                    await self.client.publish(self.base + "info", json.dumps(self.info()), retain=True)
                print("link: online")  # on the serial console: what a test or a technician reads
                self._sent_at = {}
                await self._drain()
            except Exception as e:  # any failure means the same: reconnect later
                # Named on the console for the technician (hangcho-tech reads these lines).
                print("mqtt: broker %s:%d: %r" % (self.client.server, self.client.port, e))
            self.client.close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _wait_for_wifi(self):
        waited = 0
        while not self.ready():
            if waited == WIFI_PATIENCE_MS:
                print("wifi: cannot join %s" % self.wifi_name)
            await asyncio.sleep_ms(200)
            waited += 200

    async def _drain(self):
        """While connected: send what is new, and again what waits too long for its ack."""
        while self.client.connected and self.ready():
            now = time.time()
            for event_id, payload in list(self.outbox.pending.items()):
                if now - self._sent_at.get(event_id, -RESEND_S) >= RESEND_S:
                    self._sent_at[event_id] = now
                    if not await self.client.publish(self.base + "evt", payload):
                        return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 1)
            except asyncio.TimeoutError:
                pass


def _ignore(name, body):
    pass


def _always_up() -> bool:
    return True
