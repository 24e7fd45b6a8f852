# The hall board: a MAX7219 LED matrix chain showing the latest call, "A023>5", from the
# gateway's retained `display` (the TV page shows the history; this is the sign above it).
from matrix import Matrix


class Hall:
    def __init__(self, pins, link, info):
        d = pins["display"]
        self.matrix = Matrix(d["spi"], d["sck"], d["mosi"], d["cs"], d.get("modules", 8))
        link.on_display = self.show
        link.info = lambda: info

    def show(self, body):
        calls = body.get("calls") or []
        self.matrix.show("%s>%d" % (calls[0]["ticket"], calls[0]["counter"]) if calls else "")

    def health(self):
        return {}

    def show_link(self, up):
        pass
