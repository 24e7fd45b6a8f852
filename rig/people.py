"""The people of a demo center, acting on its boards: citizens press the kiosk's buttons, staff
key the counters' keypads. `BoardDesk.handle` stands where the dispatch core stands in
gateway/simulation.py, so `simulate_day(config, desk.handle, …)` plays the same day through the
firmware, Mosquitto and the gateway. A command becomes the button or key a person would press;
what the person then sees (the number printed, the number on the counter's display) comes back
from the gateway's ack to that board, as the core's own event types.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import paho.mqtt.client as mqtt

from contracts.topics import topic
from gateway import dispatch as cmd
from gateway.config import CenterConfig
from gateway.dispatch import Decision
from gateway.dispatch.events import TicketCalled, TicketIssued
from tech.hostboard import HostBoard

# The counter keypad's keys (firmware/app/counter.py); closing for the evening is a pause too.
KEYS = {cmd.CallNext: "A", cmd.Recall: "B", cmd.StartService: "C", cmd.NoShow: "*", cmd.OpenCounter: "0",
        cmd.PauseCounter: "9", cmd.CloseCounter: "9"}  # fmt: skip
OUTCOME_KEYS = {"resolved": "D", "returned": "6", "forwarded": "7"}
ACK_TIMEOUT_S = 10.0
KEY_HOLD_S = 0.12  # quicker than a finger, still 2.5 times the keypad's 45 ms debounce


class Acks:
    """Every board's acks, as the gateway sends them, heard on the broker (the rig's own account
    may read the center's branch: rig/broker.py)."""

    def __init__(self, config: CenterConfig, port: int, password: str):
        from .broker import RIG_USER

        self.by_device: dict[str, list[dict]] = defaultdict(list)
        self.changed = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=RIG_USER)
        self.client.username_pw_set(RIG_USER, password)
        self.client.on_connect = lambda c, *a: c.subscribe(topic(config.id, "+", "ack"), qos=1)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, client, userdata, msg) -> None:
        with self.changed:
            self.by_device[msg.topic.split("/")[-2]].append(json.loads(msg.payload))
            self.changed.notify_all()

    def mark(self, device: str) -> int:
        with self.changed:
            return len(self.by_device[device])

    def after(self, device: str, mark: int, timeout: float = ACK_TIMEOUT_S) -> dict | None:
        """The first ack the device got after `mark`, or None when none came in time."""
        with self.changed:
            got = self.changed.wait_for(lambda: len(self.by_device[device]) > mark, timeout)
            return self.by_device[device][mark] if got else None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class BoardDesk:
    def __init__(self, config: CenterConfig, boards: dict[str, HostBoard], acks: Acks, say=print):
        self.config, self.acks, self.say = config, acks, say
        self.kiosk = next(d for d in config.devices if d.role == "kiosk")
        self.kiosk_board = boards[self.kiosk.id]
        self.counters = {d.counter: boards[d.id] for d in config.devices if d.role == "counter"}
        self.served_at: dict[str, int] = {}  # ticket → the counter that called it (for the rating)
        self.issued = self.refused = 0

    def handle(self, command: cmd.Command, now: float) -> Decision:
        if isinstance(command, cmd.IssueTicket):
            return self._issue(command, now)
        if isinstance(command, cmd.Rate):
            board = self.counters[self.served_at.get(command.ticket, 0)] if command.ticket in self.served_at else None
            return self._key(board, str(command.score), now) if board else Decision(())
        key = OUTCOME_KEYS[command.outcome] if isinstance(command, cmd.Complete) else KEYS[type(command)]
        decision = self._key(self.counters[command.counter], key, now)
        if isinstance(command, cmd.CallNext):
            for e in decision.events:
                self.served_at[e.ticket] = command.counter
        return decision

    def _issue(self, command: cmd.IssueTicket, now: float) -> Decision:
        board, mark = self.kiosk_board, self.acks.mark(self.kiosk.id)
        if command.priority:
            board.press(len(board.pins["buttons"]))  # the priority button, then the service
        board.press(self.kiosk.buttons.index(command.service))
        ack = self._answer(self.kiosk.id, mark)
        if not ack or "ticket" not in ack:
            return Decision(())
        self.issued += 1
        number = int(ack["ticket"][len(command.service) :])
        return Decision((TicketIssued(now, ack["ticket"], command.service, number, command.priority, self.kiosk.id,
                                      0, None, None, None),))  # fmt: skip

    def _key(self, board: HostBoard, key: str, now: float) -> Decision:
        mark = self.acks.mark(board.device)
        board.key(key, hold_s=KEY_HOLD_S)
        ack = self._answer(board.device, mark)
        if ack and key == "A" and "ticket" in ack:
            counter = next(n for n, b in self.counters.items() if b is board)
            return Decision((TicketCalled(now, ack["ticket"], counter, False),))
        return Decision(())

    def _answer(self, device: str, mark: int) -> dict | None:
        ack = self.acks.after(device, mark)
        if ack is None:
            self.say(f"{self.config.id}/{device}: không có phản hồi (no ack within {ACK_TIMEOUT_S:g} s)")
        elif not ack.get("ok"):
            self.refused += 1
        return ack if ack and ack.get("ok") else None


def pace(clock) -> callable:
    """simulate_day's `pace`: wait for the wall-clock moment the simulated time comes."""

    def wait(simulated: float) -> None:
        delay = clock.wall(simulated) - time.time()
        if delay > 0:
            time.sleep(delay)

    return wait
