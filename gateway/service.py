"""The gateway service: the dispatch core's shell over MQTT.

paho's network thread only queues incoming messages, each in its board's lane
of the inbox (inbox.py: bounded, served in turn, so one board's flood cannot
delay another's press). One worker thread takes them in groups, turns board
events into commands (protocol.py), has the dispatcher decide and journal the
whole group in one transaction, and only then publishes: the acks, the print
command for each new ticket, and the displays of the counters and the hall.
A new event beyond its board's budget (budget.py) is refused before the core
sees it. A message that cannot be used changes nothing and is logged with its
reason, one line per board and reason per minute (refusals.py). The MQTT
session is persistent (clean_session off, QoS 1), so events published while
the gateway is down wait in the broker; boards also resend until acknowledged.

If the journal cannot be written (a full disk), nothing is acknowledged: the
boards keep resending, the worker retries at most once a second, and the
log says so once when it starts and once when writing works again.
"""

from __future__ import annotations

import contextlib
import logging
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

from contracts.ids import GATEWAY

from . import protocol as p
from .budget import Budgets, Pacer
from .config import CenterConfig, Device
from .dispatch import Decision, DispatchError
from .dispatch.alerts import alert_key, queue_alerts
from .dispatch.errors import OverBudget
from .dispatch.events import TicketCalled, TicketIssued, TicketRecalled
from .dispatcher import Dispatcher
from .hub import ViewHub
from .inbox import FairInbox
from .journal import JournalError
from .refusals import RefusalLog
from .registry import Registry
from .ticket import blocks_rev, static_blocks, status_url, ticket_ops
from .views import add_call, counter_view, hall_view, recent_calls
from .voice import Announcer

log = logging.getLogger("hangcho.gateway")
GROUP_MAX = 200
ALERT_EVERY_S = 30.0
JOURNAL_RETRY_S = 1.0  # while the journal cannot be written: each failed group costs a replay of the day
BLOCKS_EVERY_S = 60.0  # raster blocks again to one kiosk at most this often, however often it sends `info`
BLOCKS_TTL_S = 600.0  # raster blocks are content, not a call: a kiosk may take them late
TIME_AGAIN_S = 1.0  # the time again for one board coming online at most this often
# Refusals logged as warnings; the others are the core saying no to a clerk (INFO), as any day has.
_WARNINGS = {"event", "info", "tele", "message", "messages", OverBudget.code}
_STOP, _LINK_BACK = "stop", "link back"  # the worker's own markers in the inbox's control lane


@dataclass(slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = GATEWAY
    password: str | None = None
    prefix: str = p.PREFIX
    keepalive: int = 30
    ca: str | None = None  # the center's CA: TLS to a broker that is not on this machine (docs/protocol.md)


def _monotonic() -> float:
    return time.monotonic()


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
        rules = config.budgets
        self._inbox = FairInbox(rules.messages_per_s, rules.messages_burst)
        sending = {d.id: "press" if d.role == "kiosk" else "key" for d in config.devices if d.role != "hall"}
        self.budgets = Budgets(rules, sending, clock())
        self.refusals = RefusalLog()
        self._blocks_pacer = Pacer(BLOCKS_EVERY_S)
        self._alerts_checked = _monotonic()
        self._time_due = 0.0  # the next periodic time
        self._time_for: dict[str, float] = {}  # when the time last went out for a board coming online
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
        client.will_set(p.gateway_status(self.config.id, self.settings.prefix), p.STATUS_LOST, qos=1, retain=True)
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
        self._inbox.put_control(_STOP)
        self.client.publish(p.gateway_status(self.config.id, self.settings.prefix), p.STATUS_LOST, qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()
        self._worker.join(timeout=5)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        self._send_time()  # before any command the broker kept for a board goes out again
        client.subscribe(p.subscriptions(self.config.id, self.settings.prefix))
        self._inbox.put_control(_LINK_BACK)  # what waited in the broker comes now: every board may drain
        client.publish(p.gateway_status(self.config.id, self.settings.prefix), p.STATUS_ONLINE, qos=1, retain=True)
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
        """On paho's network thread, for every message: a few dictionary operations, no more."""
        name = message.topic
        parts = name.split("/", 4)
        lane = parts[3] if len(parts) == 5 and parts[3] in self.devices else "?"
        self._inbox.put(lane, (name, message.payload), _monotonic())

    def _publish(self, device: str, leaf: str, body: dict, retain: bool = False) -> None:
        self.client.publish(self._topic(device, leaf), p.encode(body), qos=1, retain=retain)

    def _send_time(self) -> None:
        """The time for every board (none keeps one: an ESP32's RTC starts in 2000 at power-up),
        which judges each command's `exp` by it. QoS 0: a late time is worse than the next one."""
        ms = int(self.clock() * 1000)
        self.client.publish(p.gateway_time(self.config.id, self.settings.prefix), b'{"ms":%d}' % ms, qos=0)

    # -- the worker ---------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            group = self._inbox.take(GROUP_MAX, self._idle_s())
            if _STOP in group:
                group = group[: group.index(_STOP)]
                self._stop.set()
            try:
                self.handle_group(group)
            except Exception:  # the service must outlive one bad group; nothing was acked
                log.exception("could not handle %d messages", len(group))
            try:
                self.housekeeping()
            except Exception:  # a report that cannot be built must not stop the queue
                log.exception("could not check the alerts")
            if self._journal_down is not None:  # let the resends gather into one group, not one replay each
                self._stop.wait(JOURNAL_RETRY_S)

    def _idle_s(self) -> float:
        """How long the worker may wait for a message before it has something of its own to do."""
        mono = _monotonic()
        waits = [ALERT_EVERY_S - (mono - self._alerts_checked), self.refusals.next_due(mono),
                 self._blocks_pacer.next_due(mono), self._time_due - mono]  # fmt: skip
        return max(0.05, min(w for w in waits if w is not None))

    def housekeeping(self) -> None:
        """What is due between groups: the time every TIME_EVERY_S, the shed messages counted, the
        minute's log lines, the raster blocks a kiosk asked for too soon, and the alerts every
        ALERT_EVERY_S."""
        now, mono = self.clock(), _monotonic()
        if mono >= self._time_due:
            self._time_due = mono + p.TIME_EVERY_S
            self._send_time()
        shed = self._inbox.shed()
        if shed:
            with self._lock:
                for lane, count in shed.items():
                    if self.registry.abused(lane, "flooding", count, now):
                        self._alerts_checked = -ALERT_EVERY_S  # a new alert: logged now, not in 30 s
            for lane, count in shed.items():
                self._refused(lane, "messages", f"{count} shed: over its inbox budget", mono, count)
        for what, line in self.refusals.due(mono):
            log.log(logging.WARNING if what in _WARNINGS else logging.INFO, "%s", line)
        for device_id in self._blocks_pacer.due(mono):
            device = self.devices[device_id]
            if self.registry.entries[device_id].info.get("blocks_rev") != self._blocks(device.printer)[0]:
                self.send_blocks(device, now)
        if mono - self._alerts_checked >= ALERT_EVERY_S:
            self._alerts_checked = mono
            self.check_alerts()

    def _refused(self, device: str, what: str, detail: str, mono: float | None = None, count: int = 1,
                 level: int = logging.WARNING) -> None:  # fmt: skip
        """Log a refusal, coalesced: one line per board and reason per minute (refusals.py)."""
        for line in self.refusals.refused(device, what, detail, _monotonic() if mono is None else mono, count):
            log.log(level, "%s", line)

    def submit(self, command: Any, timeout: float = 10.0) -> Decision | DispatchError:
        """Run a command from the console through the worker, like a keypad's: same journal, same
        displays and voice. Raises TimeoutError if the worker did not answer in time."""
        request = ConsoleRequest(command)
        self._inbox.put_control(request)
        return request.future.result(timeout)

    def handle_group(self, group: list) -> None:
        """Decide and journal the group's events together, then answer each."""
        now = self.clock()
        commands: list[tuple[Device | ConsoleRequest, str, Any]] = []
        for item in group:
            if isinstance(item, ConsoleRequest):
                commands.append((item, "", item.command))
                continue
            if item == _LINK_BACK:
                self.budgets.all_back(now)
                continue
            name, payload = item
            try:
                device_id, leaf = p.parse_topic(name, self.config.id, self.settings.prefix)
            except p.ProtocolError as e:
                self._refused("?", "message", e.reason)
                continue
            device = self.devices.get(device_id)
            if device is None:
                if device_id != GATEWAY:
                    self._refused(device_id, "message", f"unknown device {device_id!r} on {name}")
                continue
            if leaf == "evt":
                self._event(device, payload, commands)
            else:
                self._health(device, leaf, payload, now)
        if not commands:
            return
        saved, admit = self.budgets.saved(), self._admit(commands, now)
        try:
            with self._lock:
                outcomes = self.dispatcher.handle_many([(cmd, now) for _, _, cmd in commands], admit)
        except JournalError as e:
            self.budgets.restore(saved)  # nothing was issued, so nothing was spent
            self.budgets.all_back(now)  # and when writing works again, every board's resends come at once
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
                if isinstance(outcome, OverBudget):  # abuse, or a broken board: a warning and an alert
                    self._refused(source.id, outcome.code, f"{event_id}: {outcome.en}")
                    with self._lock:
                        if self.registry.abused(source.id, "over_budget", 1, now):
                            self._alerts_checked = -ALERT_EVERY_S  # logged at the next housekeeping
                elif isinstance(outcome, DispatchError):  # the core said no: staff see why on the keypad
                    self._refused(source.id, outcome.code, f"{event_id}: {outcome.en}", level=logging.INFO)
                self._publish(source.id, "ack", p.ack(event_id, outcome))
        if wrote:
            self.hub.publish("hall", hall_view(self.dispatcher.state, self.hall_calls))

    def _admit(self, commands: list, now: float) -> Callable[[int], None]:
        """The budget check the dispatcher makes for each new event id (never for a resend)."""

        def admit(i: int) -> None:
            source = commands[i][0]
            if isinstance(source, Device) and not self.budgets.take(source.id, now):
                budget = self.budgets.describe(source.id)
                if source.role == "kiosk":
                    vi = "Bấm quá nhanh (vượt hạn mức của kiosk); xin chờ giây lát rồi bấm lại"
                else:
                    vi = "Bấm phím quá nhanh (vượt hạn mức của quầy); xin chờ vài giây rồi bấm lại"
                raise OverBudget(vi, f"over budget: {source.id} sends more than {budget}")

        return admit

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
            self._refused(device.id, "event", e.reason)
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
                self._refused(device.id, leaf, e.reason)
                return
        with self._lock:
            self.registry.seen(device.id, leaf, data, now)
        if leaf == "status" and data == p.STATUS_ONLINE:
            self.budgets.back(device.id, now)  # (re)connected: its outbox comes next
            mono = _monotonic()
            if mono - self._time_for.get(device.id, -TIME_AGAIN_S) >= TIME_AGAIN_S:
                self._time_for[device.id] = mono
                self._send_time()  # before its raster blocks: a board just powered up knows no time
        elif leaf == "info" and device.role == "kiosk":
            if data.get("blocks_rev") == self._blocks(device.printer)[0]:
                self._blocks_pacer.forget(device.id)
            elif self._blocks_pacer.ask(device.id, _monotonic()):  # else later: at most once a minute
                self.send_blocks(device, now)

    def devices_report(self) -> dict[str, Any]:
        """Every board's row and the alerts now, the queue's first: for `hangcho-gateway devices`,
        the fleet page and the sync snapshot. `now` is the center's clock (the demo's simulated one)."""
        now = self.clock()
        with self._lock:
            alerts = queue_alerts(self.dispatcher.state, now)
            rows, alerts = self.registry.rows(now), alerts + self.registry.alerts(now)
        c = self.config
        return {"center": {"id": c.id, "name": c.name, "timezone": c.timezone}, "now": now,
                "open": self.registry.is_open(now), "devices": rows, "alerts": alerts}  # fmt: skip

    def check_alerts(self) -> None:
        """Log each alert when it starts and when it ends (journald keeps them)."""
        current = {alert_key(a): a for a in self.devices_report()["alerts"]}
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
            "exp": p.expires(now, p.COMMAND_TTL_S),
            "ticket": e.ticket,
            "rev": self._blocks(device.printer)[0],
            "ops": ticket_ops(
                self.config, e, status_url(self.config, self.dispatcher.state.day, e.ticket), device.printer
            ),
        }

    def _blocks(self, printer: str) -> tuple[str, dict]:
        if printer not in self._block_cache:
            self._block_cache[printer] = (blocks_rev(self.config, printer), static_blocks(self.config, printer))
        return self._block_cache[printer]

    def send_blocks(self, device: Device, now: float) -> None:
        """Every static raster block to a kiosk, in parts (a board's heap is small and fragmented)."""
        (rev, blocks), exp = self._blocks(device.printer), p.expires(now, BLOCKS_TTL_S)
        for name, raster in blocks.items():
            for part in raster.to_messages(name, rev):
                self._publish(device.id, "cmd/config", {"exp": exp, **part})
        self._publish(device.id, "cmd/config", {"exp": exp, "kind": "blocks_done", "rev": rev})

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
