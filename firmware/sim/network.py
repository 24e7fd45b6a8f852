# A stand-in for MicroPython's `network` on the unix port: the Wi-Fi link is up unless a test
# writes "down" to the file `wifi` in the board's folder.
import os

CAPTURE_DIR = os.getenv("HANGCHO_CAPTURE") or "."
STA_IF = 0


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False

    def active(self, on=None):
        if on is not None:
            self._active = on
        return self._active

    def connect(self, ssid=None, key=None):
        pass

    def isconnected(self):
        try:
            with open(CAPTURE_DIR + "/wifi") as f:
                return f.read().strip() != "down"
        except OSError:
            return True

    def status(self, param=None):
        return -55 if param == "rssi" else 1010
