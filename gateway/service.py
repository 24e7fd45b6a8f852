"""The gateway service: the dispatch core's shell over MQTT.

paho's network thread only queues incoming messages. One worker thread takes
them in groups, turns board events into commands (protocol.py), has the
dispatcher decide and journal the whole group in one transaction, and only
then publishes: the acks, the print command for each new ticket, and the
displays of the counters and the hall. A message that cannot be used is
logged with its reason and changes nothing. The MQTT session is persistent
(clean_session off, QoS 1), so events published while the gateway is down
wait in the broker; boards also resend until acknowledged.

If the journal cannot be written (a full disk), nothing is acknowledged: the
boards keep resending, the worker retries at most once a second, and the
log says so once when it starts and once when writing works again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from . import protocol as p
from .config import CenterConfig, Device
from .dispatch import Decision, DispatchError
from .dispatch.events import TicketCalled, TicketIssued, TicketRecalled
from .dispatcher import Dispatcher
from .hub import ViewHub
from .journal import JournalError
from .registry import Registry
from .ticket import blocks_rev, static_blocks, status_url, ticket_ops
from .views import add_call, counter_view, hall_view, recent_calls
from .voice import Announcer

log = logging.getLogger("hangcho.gateway")
GROUP_MAX = 200
ALERT_EVERY_S = 30.0
JOURNAL_RETRY_S = 1.0  # while the journal cannot be written: each failed group costs a replay of the day


@dataclass(slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = "gateway"
    password: str | None = None
    prefix: str = p.PREFIX
    keepalive: int = 30
    ca: str | None = None  # the center's CA: TLS to a broker that is not on this machine (docs/protocol.md)


@dataclass(slots=True)
class ConsoleRequest:
    """A command from the browser console, answered through a future once journaled."""

    command: Any
    future: Future = field(default_factory=Future)


class GatewayService:
    def __init__(
        self,
        config: CenterConfig,
        dispatcher: Dispatcher,
        settings: MqttSettings,
        clock: Callable[[], float] = time.time,
        hub: ViewHub | None = None,
        announcer: Announcer | None = None,
    ):
        self.config, self.dispatcher, self.settings, self.clock = config, dispatcher, settings, clock
        self.hub = hub or ViewHub()
        self.announcer = announcer
        self._block_cache: dict[str, tuple[str, dict]] = {}
        self._lock = threading.Lock()  # the worker changes the state; pages read it under this
        self.devices = {dev.id: dev for dev in config.devices}
        self.registry = Registry(config)
        self._alerts: dict[tuple[str, str], dict] = {}
        self._journal_down: dict[str, Any] | None = None  # since when, what was logged, how many went unacked
        self.hall_calls = recent_calls(e for _, events in dispatcher.journal.current_day() for e in events)
        self.hub.publish("hall", hall_view(dispatcher.state, self.hall_calls))
        self._inbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="hangcho-worker", daemon=True)
        self.connected = threading.Event()  # set once subscribed, cleared on a disconnect
        self.client = self._client()

    # -- MQTT plumbing --------------------------------------------------------
    def _client(self) -> mqtt.Client:
        s = self.settings
        # The broker makes the client id the username (use_username_as_clientid): the session
        # is the gateway account's, which no board's password can take over.
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.username, clean_session=False,
                             protocol=mqtt.MQTTv311)  # fmt: skip
        if s.password is not None:
            client.username_pw_set(s.username, s.password)
        if s.ca is not None:
            client.tls_set(ca_certs=s.ca)
        client.will_set(self._topic("gateway", "status"), p.STATUS_LOST, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *args: self.connected.set()
        client.on_socket_open = no_delay
        return client

    def _topic(self, device: str, leaf: str) -> str:
        return p.topic(self.config.id, device, leaf, self.settings.prefix)

    def start(self) -> None:
        self._worker.start()
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self.hub.close()
        self._stop.set()
        self._inbox.put(None)
        self.client.publish(self._topic("gateway", "status"), p.STATUS_LOST, qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()
        self._worker.join(timeout=5)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.subscribe(p.subscriptions(self.config.id, self.settings.prefix))
        client.publish(self._topic("gateway", "status"), p.STATUS_ONLINE, qos=1, retain=True)
        log.info(
            "connected to %s:%s (session present: %s)", self.settings.host, self.settings.port, flags.session_present
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        log.warning("disconnected from the broker: %s", reason_code)

    def read(self, fn: Callable[[Any], Any]) -> Any:
        """fn(state) while the worker is not changing it: for the web pages' threads."""
        with self._lock:
            return fn(self.dispatcher.state)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        self._inbox.put((message.topic, message.payload))

    def _publish(self, device: str, leaf: str, body: dict, retain: bool = False) -> None:
        self.client.publish(self._topic(device, leaf), p.encode(body), qos=1, retain=retain)

    # -- the worker ---------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._inbox.get(timeout=ALERT_EVERY_S)
            except queue.Empty:
                try:
                    self.check_alerts()
                except Exception:  # a report that cannot be built must not stop the queue
                    log.exception("could not check the alerts")
                continue
            if item is None:
                break
            group = [item]
            while len(group) < GROUP_MAX:
                try:
                    nxt = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                group.append(nxt)
            try:
                self.handle_group(group)
            except Exception:  # the service must outlive one bad group; nothing was acked
                log.exception("could not handle %d messages", len(group))
            if self._journal_down is not None:  # let the resends gather into one group, not one replay each
                self._stop.wait(JOURNAL_RETRY_S)

    def submit(self, command: Any, timeout: float = 10.0) -> Decision | DispatchError:
        """Run a command from the console through the worker, like a keypad's: same journal, same
        displays and voice. Raises TimeoutError if the worker did not answer in time."""
        request = ConsoleRequest(command)
        self._inbox.put(request)
        return request.future.result(timeout)

    def handle_group(self, group: list) -> None:
        """Decide and journal the group's events together, then answer each."""
        now = self.clock()
        commands: list[tuple[Device | ConsoleRequest, str, Any]] = []
        for item in group:
            if isinstance(item, ConsoleRequest):
                commands.append((item, "", item.command))
                continue
            name, payload = item
            try:
                device_id, leaf = p.parse_topic(name, self.config.id, self.settings.prefix)
            except p.ProtocolError as e:
                log.warning("refused message: %s", e.reason)
                continue
            device = self.devices.get(device_id)
            if device is None:
                if device_id != "gateway":
                    log.warning("refused message from unknown device %r on %s", device_id, name)
                continue
            if leaf == "evt":
                self._event(device, payload, commands)
            else:
                self._health(device, leaf, payload, now)
        if not commands:
            return
        try:
            with self._lock:
                outcomes = self.dispatcher.handle_many([(cmd, now) for _, _, cmd in commands])
        except JournalError as e:
            self._journal_failed(e, len(commands))
            for source, _, _ in commands:
                if isinstance(source, ConsoleRequest):
                    source.future.set_exception(e)
            return
        wrote = any(isinstance(o, Decision) and not o.duplicate and o.events for o in outcomes)
        if wrote:
            self._journal_back()
        for (source, event_id, _), outcome in zip(commands, outcomes, strict=True):
            self._effects(source, outcome, now)
            if isinstance(source, ConsoleRequest):
                source.future.set_result(outcome)
            else:
                if isinstance(outcome, DispatchError):
                    log.info("refused %s from %s: %s", event_id, source.id, outcome.en)
                self._publish(source.id, "ack", p.ack(event_id, outcome))
        if wrote:
            self.hub.publish("hall", hall_view(self.dispatcher.state, self.hall_calls))

    def _journal_failed(self, e: JournalError, count: int) -> None:
        """Log each kind of failure once per outage, not once per resend."""
        path, reason = self.dispatcher.journal.path, str(e.__cause__ or e)
        down = self._journal_down
        if down is None:
            down = self._journal_down = {"since": time.monotonic(), "logged": set(), "unacked": 0}
        down["unacked"] += count
        if reason in down["logged"]:
            return
        down["logged"].add(reason)
        if e.disk_full:
            what, then = f"disk full at {path} ({reason}, {_free_kib(path)} KiB free)", "waiting for space"
        else:
            what, then = f"cannot write {path} ({reason})", "retrying"
        log.error("journal: %s; nothing is acknowledged, the boards keep resending; %s", what, then)

    def _journal_back(self) -> None:
        down, self._journal_down = self._journal_down, None
        if down is not None:
            log.warning(
                "journal: writing again at %s after %.0f s; %d messages (resends included) went unacked meanwhile",
                self.dispatcher.journal.path,
                time.monotonic() - down["since"],
                down["unacked"],
            )

    def _event(self, device: Device, payload: bytes, commands: list) -> None:
        try:
            event_id, command = p.event_command(self.config, device, payload)
        except p.ProtocolError as e:
            log.warning("refused event from %s: %s", device.id, e.reason)
            if e.event_id:  # tell the board, so that it stops resending what can never work
                self._publish(device.id, "ack", p.refusal(e.event_id, e))
            return
        commands.append((device, event_id, command))

    def _health(self, device: Device, leaf: str, payload: bytes, now: float) -> None:
        if leaf == "status":
            data: Any = payload.decode("utf-8", "replace")[:16]
        else:
            try:
                data = p.load_json(payload)
            except p.ProtocolError as e:
                log.warning("refused %s from %s: %s", leaf, device.id, e.reason)
                return
        with self._lock:
            self.registry.seen(device.id, leaf, data, now)
        if leaf == "info" and device.role == "kiosk" and data.get("blocks_rev") != self._blocks(device.printer)[0]:
            self.send_blocks(device, now)

    def devices_report(self) -> dict[str, Any]:
        """Every board's row and the alerts now: for `hangcho-gateway devices` and the web."""
        now = self.clock()
        with self._lock:
            rows, alerts = self.registry.rows(now), self.registry.alerts(now)
        return {"open": self.registry.is_open(now), "devices": rows, "alerts": alerts}

    def check_alerts(self) -> None:
        """Log each alert when it starts and when it ends (journald keeps them)."""
        current = {(a["device"], a["kind"]): a for a in self.devices_report()["alerts"]}
        for key in current.keys() - self._alerts.keys():
            log.warning("alert: %s", current[key]["message"])
        for key in self._alerts.keys() - current.keys():
            log.info("alert over: %s", self._alerts[key]["message"])
        self._alerts = current

    # -- answers, after the journal commit ---------------------------------------------------------
    def _effects(self, source: Device | ConsoleRequest, outcome: Decision | DispatchError, now: float) -> None:
        """What a new decision causes: prints, calls, displays. Sent before the ack, so a board
        that holds its ack has had everything the event caused."""
        if isinstance(outcome, DispatchError) or outcome.duplicate:
            return
        for e in outcome.events:
            if isinstance(e, TicketIssued) and isinstance(source, Device) and source.role == "kiosk":
                self._publish(source.id, "cmd/print", self.print_body(source, e, now))
            elif isinstance(e, TicketCalled | TicketRecalled):
                self._called(e.ticket, e.counter)
        for counter in {getattr(e, "counter", None) for e in outcome.events} - {None}:
            self._show_counter(counter)

    def print_body(self, device: Device, e: TicketIssued, now: float) -> dict[str, Any]:
        """The print command: the ticket's operations; Vietnamese text is in the cached blocks."""
        return {
            "exp": now + p.COMMAND_TTL_S,
            "ticket": e.ticket,
            "rev": self._blocks(device.printer)[0],
            "ops": ticket_ops(self.config, e, status_url(self.config, self.dispatcher.state.day, e.ticket)),
        }

    def _blocks(self, printer: str) -> tuple[str, dict]:
        if printer not in self._block_cache:
            self._block_cache[printer] = (blocks_rev(self.config, printer), static_blocks(self.config, printer))
        return self._block_cache[printer]

    def send_blocks(self, device: Device, now: float) -> None:
        """Every static raster block to a kiosk, one message each (a board's heap is small)."""
        rev, blocks = self._blocks(device.printer)
        for name, raster in blocks.items():
            self._publish(device.id, "cmd/config", {"exp": now + 600, **raster.to_message(name, rev)})
        self._publish(device.id, "cmd/config", {"exp": now + 600, "kind": "blocks_done", "rev": rev})

    def _called(self, ticket: str, counter: int) -> None:
        if self.announcer is not None:
            self.announcer.announce(ticket, counter)
        self.hall_calls = add_call(self.hall_calls, (ticket, counter))
        body = {"calls": [{"ticket": t, "counter": c} for t, c in self.hall_calls]}
        for dev in self.config.devices:
            if dev.role == "hall":
                self._publish(dev.id, "display", body, retain=True)

    def _show_counter(self, counter: int) -> None:
        body = counter_view(self.dispatcher.state, counter)
        for dev in self.config.devices:
            if dev.role == "counter" and dev.counter == counter:
                self._publish(dev.id, "display", body, retain=True)


def _free_kib(path) -> int | str:
    try:
        return shutil.disk_usage(path.parent).free // 1024
    except OSError:
        return "?"


def no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """Nagle off: a print and the ack after it go out at once. With Nagle the ack waits for the
    broker's TCP ack of the print, which Linux delays until the broker has something to send,
    often the next press: 20 ms at 50 presses/s (docs/performance.md)."""
    with contextlib.suppress(AttributeError, OSError):  # a proxy or WebSocket transport: no TCP option
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
