# TM1637 4-digit 7-segment display on two GPIOs (CLK, DIO), bit-banged: its two-wire bus looks like
# I2C but has no address and sends bytes LSB first, so machine.I2C cannot drive it. One update is
# 6 bytes, about 0.3 ms of bus time: short enough to do inline from the asyncio loop.
import time

from machine import Pin
from micropython import const
from segments import cells, reversed7

_DATA_AUTO = const(0x40)  # write display data, address auto-increment
_ADDRESS_0 = const(0xC0)
_DISPLAY_ON = const(0x88)  # | brightness 0..7
_HALF_BIT_US = const(5)


class SevenSegment:
    def __init__(self, clk, dio, digits=4, brightness=4):
        self.clk = Pin(clk, Pin.OUT, value=1)
        self.dio = Pin(dio, Pin.OUT, value=1)
        self.digits, self.brightness = digits, brightness
        self.show("")

    def _start(self):
        self.dio.value(0)  # DIO falls while CLK is high
        time.sleep_us(_HALF_BIT_US)
        self.clk.value(0)

    def _stop(self):
        self.dio.value(0)
        self.clk.value(1)
        time.sleep_us(_HALF_BIT_US)
        self.dio.value(1)  # DIO rises while CLK is high

    def _byte(self, b):
        for i in range(8):  # the chip samples DIO on CLK's rising edge, LSB first
            self.dio.value((b >> i) & 1)
            time.sleep_us(_HALF_BIT_US)
            self.clk.value(1)
            time.sleep_us(_HALF_BIT_US)
            self.clk.value(0)
        self.dio.value(1)  # release DIO: the chip pulls it low on the ninth clock (ACK)
        self.clk.value(1)
        time.sleep_us(_HALF_BIT_US)
        self.clk.value(0)

    def _command(self, *data):
        self._start()
        for b in data:
            self._byte(b)
        self._stop()

    def show(self, text):
        """Right-aligned, the last `digits` characters; unknown characters show as blank."""
        self._command(_DATA_AUTO)
        self._command(_ADDRESS_0, *[reversed7(bits) for bits in cells(text, self.digits)])
        self._command(_DISPLAY_ON | self.brightness)
