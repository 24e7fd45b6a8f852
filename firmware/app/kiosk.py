# The kiosk: one button per service and a priority button; an ESC/POS printer; a status LED.
# A press goes into the outbox (on flash) before anything else; the ticket is printed when the
# gateway's print command arrives. The priority button marks the next service press, for
# PRIORITY_WINDOW_S seconds.
import binascii
import time

from machine import UART, Pin
from micropython import const
from printer import BlockStore, Printer

PRIORITY_WINDOW_S = const(10)


class Kiosk:
    def __init__(self, pins, link, info):
        self.link = link
        self.services = len(pins["buttons"])
        self.buttons = list(pins["buttons"]) + [pins["priority_button"]]
        p = pins["printer"]
        self.store = BlockStore("blocks")
        self.printer = Printer(UART(p["uart"], baudrate=p["baud"], tx=p["tx"], rx=p["rx"]), self.store)
        self.led = Pin(pins["led"], Pin.OUT, value=0)
        self.priority_until = 0
        self.blink_until, self.blinks = 0, 0  # identify: the LED blinks until then
        self.printed = 0
        link.on_command = self.command
        link.info = lambda: dict(info, blocks_rev=self.store.rev())

    def press(self, index):
        if index == self.services:  # the priority button
            self.priority_until = time.time() + PRIORITY_WINDOW_S
            return
        priority = time.time() < self.priority_until
        self.priority_until = 0
        self.link.press('{"kind":"press","button":%d,"priority":%s}' % (index, "true" if priority else "false"))

    def command(self, name, body):
        if name == "print":
            self.printer.print_ops(body["ops"])
            self.printed += 1
            print("printed", body["ticket"])
        elif name == "config" and body.get("kind") == "block":
            data = binascii.a2b_base64(body["data"])
            self.store.save_part(body["name"], body["w"], body["h"], body.get("y", 0), data)
        elif name == "config" and body.get("kind") == "blocks_done":
            self.store.set_rev(body["rev"])
        elif name == "identify":  # the technician's test ticket comes as a print command
            self.blink_until = time.time() + body.get("seconds", 10)
            print("identify")

    def health(self):
        return {"paper": self.printer.paper(), "printed": self.printed}

    def show_link(self, up):
        if time.time() < self.blink_until:  # identify: blink (this runs every 100 ms)
            self.blinks += 1
            self.led.value(self.blinks // 3 % 2)
        else:
            self.led.value(1 if up else 0)
