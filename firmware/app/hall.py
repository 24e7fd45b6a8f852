# The hall board: a MAX7219 LED matrix chain showing the latest call, "A023>5", from the
# gateway's retained `display` (the TV page shows the history; this is the sign above it).
import time

from matrix import Matrix


class Hall:
    def __init__(self, pins, link, info):
        d = pins["display"]
        self.matrix = Matrix(d["spi"], d["sck"], d["mosi"], d["cs"], d.get("modules", 8))
        self.text, self.test_until = "", 0
        link.on_display = self.show
        link.on_command = self.command
        link.info = lambda: info

    def show(self, body):
        calls = body.get("calls") or []
        self.text = "%s>%d" % (calls[0]["ticket"], calls[0]["counter"]) if calls else ""
        if not self.test_until:
            self.matrix.show(self.text)

    def command(self, name, body):
        if name == "identify":  # every LED on, so a dead one shows
            self.test_until = time.time() + body.get("seconds", 10)
            self.matrix.test()
            print("identify")

    def health(self):
        return {}

    def show_link(self, up):
        if self.test_until and time.time() >= self.test_until:
            self.test_until = 0
            self.matrix.show(self.text)
