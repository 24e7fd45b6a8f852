# The counter: staff's 4x4 keypad and a 4-digit display (MAX7219 or TM1637) of the number being served.
#
#   A  call next          B  recall            C  start service      D  complete (resolved)
#   6  complete: returned (missing papers)     7  complete: forwarded (to `forward_to`)
#   *  no-show            #  park              0  open the counter   9  pause the counter
#
# After a completion the keypad becomes the citizen's 1-5 satisfaction pad for RATING_S seconds.
# The display shows what the gateway publishes on `display` (retained: right after a restart too).
import time

from keypad import Keypad
from micropython import const

RATING_S = const(20)
# A refusal on four 7-segment digits: E-1 nothing to do that to (e.g. complete with nobody
# served), E-2 unknown ticket, E-3 malformed, E-4 unknown counter, E-9 anything else.
ERROR_CODES = {"illegal_transition": "1", "unknown_ticket": "2", "malformed": "3", "unknown_counter": "4"}
ACTIONS = {"A": "next", "B": "recall", "C": "start", "*": "no_show", "#": "park", "0": "open", "9": "pause"}


def seven_segment(d):
    """The display the board profile names: a MAX7219 on SPI or a TM1637 on two GPIOs."""
    if d["kind"] == "tm1637":
        from tm1637 import SevenSegment

        return SevenSegment(d["clk"], d["dio"])
    from max7219 import SevenSegment

    return SevenSegment(d["spi"], d["sck"], d["mosi"], d["cs"])


class Counter:
    def __init__(self, pins, link, info, forward_to="Cơ quan chuyên môn"):
        self.link, self.forward_to = link, forward_to
        self.display = seven_segment(pins["display"])
        self.keypad = Keypad(pins["keypad"]["rows"], pins["keypad"]["cols"], self.key)
        self.current = ""
        self.rating_ticket, self.rating_until = None, 0
        self.pending_complete = {}  # event id -> ticket being completed
        self.test_until, self.keypad_test = 0, False  # identify: 8888, or each key shown
        link.on_display = self.show
        link.on_command = self.command
        link.on_ack = self.acked
        link.info = lambda: info

    def show(self, body):
        self.current = body.get("text", "")
        if not self.test_until:
            self.display.show(self.current)

    def command(self, name, body):
        if name == "identify":
            self.test_until = time.time() + body.get("seconds", 10)
            self.keypad_test = bool(body.get("keypad_test"))
            self.display.show("8888")
            print("identify", "keypad test" if self.keypad_test else "")

    def key(self, key):
        if self.keypad_test and self.test_until:
            self.display.show(key)  # the technician sees which key the keypad reported
            print("key", key)
            return
        if key in "12345" and time.time() < self.rating_until:
            self.rating_until = 0
            self._send('"action":"rate","ticket":"%s","score":%s' % (self.rating_ticket, key))
        elif key in ACTIONS:
            self._send('"action":"%s"' % ACTIONS[key])
        elif key in "D67":
            outcome = {"D": "resolved", "6": "returned", "7": "forwarded"}[key]
            extra = ',"forwarded_to":"%s"' % self.forward_to if outcome == "forwarded" else ""
            event = self._send('"action":"complete","outcome":"%s"%s' % (outcome, extra))
            self.pending_complete[event] = self.current

    def _send(self, fields):
        return self.link.press('{"kind":"key",%s}' % fields)

    def acked(self, body):
        ticket = self.pending_complete.pop(body["id"], None)
        if ticket and body.get("ok"):
            self.rating_ticket, self.rating_until = ticket, time.time() + RATING_S
        elif not body.get("ok"):
            self.display.show("E-" + ERROR_CODES.get(body.get("error"), "9"))

    def health(self):
        return {}

    def show_link(self, up):
        if self.test_until:
            if time.time() < self.test_until:
                return
            self.test_until, self.keypad_test = 0, False
            self.display.show(self.current)
        if not up and not self.current:
            self.display.show("----")
