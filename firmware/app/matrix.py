# A chain of MAX7219 8x8 LED matrices (the hall board): a 8-row framebuffer `modules * 8` columns
# wide. Module 0 is the leftmost, farthest from the board on the chain, so its bytes go first in
# each frame. In a module, register r (1..8) is row r-1 and bit 7 is its leftmost column.
from font5x7 import columns
from machine import SPI, Pin


class Matrix:
    def __init__(self, spi_id, sck, mosi, cs, modules=8, intensity=4):
        self.spi = SPI(spi_id, baudrate=1000000, sck=Pin(sck), mosi=Pin(mosi))
        self.cs = Pin(cs, Pin.OUT, value=1)
        self.modules = modules
        for reg, value in ((0x0F, 0), (0x09, 0), (0x0B, 7), (0x0A, intensity), (0x0C, 1)):
            self._frame(bytes((reg, value)) * modules)
        self.show("")

    def _frame(self, data):
        self.cs.value(0)
        self.spi.write(data)
        self.cs.value(1)

    def show(self, text):
        """Centred text; what does not fit is cut on the right."""
        width = self.modules * 8
        cols = columns(text)[:width]
        left = (width - len(cols)) // 2
        fb = bytearray(width)
        fb[left : left + len(cols)] = cols
        frame = bytearray(2 * self.modules)
        for row in range(8):
            for m in range(self.modules):
                bits = 0
                for x in range(8):
                    if fb[m * 8 + x] >> row & 1:
                        bits |= 0x80 >> x
                frame[2 * m], frame[2 * m + 1] = row + 1, bits
            self._frame(frame)

    def test(self):
        """Every LED on (identify): a dead LED or module shows at a glance."""
        for row in range(8):
            self._frame(bytes((row + 1, 0xFF)) * self.modules)
