# MAX7219 over SPI driving a 7-segment display (no-decode mode, our own font, so letters show:
# "A023"). Digit 1 is the rightmost. Writes go straight to the chip's registers; nothing blocks.
from machine import SPI, Pin
from micropython import const
from segments import cells

_DECODE = const(0x09)
_INTENSITY = const(0x0A)
_SCAN_LIMIT = const(0x0B)
_SHUTDOWN = const(0x0C)
_TEST = const(0x0F)


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
        for i, bits in enumerate(cells(text, self.digits)):
            self._write(self.digits - i, bits)
