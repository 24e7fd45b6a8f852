# MAX7219 over SPI driving a 7-segment display (no-decode mode, our own font, so letters show:
# "A023"). Digit 1 is the rightmost. Writes go straight to the chip's registers; nothing blocks.
from machine import SPI, Pin
from micropython import const

_DECODE = const(0x09)
_INTENSITY = const(0x0A)
_SCAN_LIMIT = const(0x0B)
_SHUTDOWN = const(0x0C)
_TEST = const(0x0F)

# Segments DP A B C D E F G, bit 7 to bit 0.
FONT = {
    "0": 0x7E, "1": 0x30, "2": 0x6D, "3": 0x79, "4": 0x33, "5": 0x5B, "6": 0x5F, "7": 0x70, "8": 0x7F,
    "9": 0x7B, "A": 0x77, "B": 0x1F, "C": 0x4E, "D": 0x3D, "E": 0x4F, "F": 0x47, "G": 0x5E, "H": 0x37,
    "L": 0x0E, "P": 0x67, "U": 0x3E, "-": 0x01, " ": 0x00,
}  # fmt: skip


class SevenSegment:
    def __init__(self, spi_id, sck, mosi, cs, digits=4, intensity=8):
        self.spi = SPI(spi_id, baudrate=1000000, sck=Pin(sck), mosi=Pin(mosi))
        self.cs = Pin(cs, Pin.OUT, value=1)
        self.digits = digits
        for reg, value in (
            (_TEST, 0),
            (_DECODE, 0),
            (_SCAN_LIMIT, digits - 1),
            (_INTENSITY, intensity),
            (_SHUTDOWN, 1),
        ):
            self._write(reg, value)
        self.show("")

    def _write(self, reg, value):
        self.cs.value(0)
        self.spi.write(bytes((reg, value)))
        self.cs.value(1)

    def show(self, text):
        """Right-aligned, the last `digits` characters; unknown characters show as blank."""
        text = ("%*s" % (self.digits, text))[-self.digits :]
        for i, ch in enumerate(text):
            self._write(self.digits - i, FONT.get(ch.upper(), 0))
