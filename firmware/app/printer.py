# The kiosk's thermal printer: ESC/POS over a UART, printing the gateway's ticket operations
# (docs/protocol.md, cmd/print). Vietnamese text arrives once as raster blocks (cmd/config) and
# is kept on flash; printing streams a block from its file in small chunks, so a 576-dot block
# never has to fit in the heap at once. A block the kiosk lacks prints as its plain text.
# The bytes are the same as gateway/ticket.py's `escpos()`: the tests compare them.
import os
import struct

from micropython import const

CHUNK = const(256)
GS_SIZE = b"\x1d!"


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass


class BlockStore:
    """Raster blocks on flash: <folder>/<name>.bin = width, height (2 bytes each), then rows."""

    def __init__(self, folder):
        self.folder = folder
        _mkdir(folder)

    def _path(self, name):
        return "%s/%s.bin" % (self.folder, name.replace(":", "_"))

    def save_part(self, name, width, height, y, data):
        """Rows y… of a block (cmd/config sends a block in parts, in order): the block replaces
        the old one once its last row is in. A part out of order leaves the old one as it was."""
        tmp, row = self._path(name) + ".new", (width + 7) // 8
        try:
            if y == 0:
                f = open(tmp, "wb")  # noqa: SIM115 - closed by the with below
                f.write(struct.pack("<HH", width, height))
            elif os.stat(tmp)[6] == 4 + y * row:
                f = open(tmp, "ab")  # noqa: SIM115
            else:
                raise OSError(0)
        except OSError:
            print("blocks: %s row %d is out of order; ignored" % (name, y))
            return False
        with f:
            f.write(data)
        if (y * row + len(data)) >= height * row:
            try:
                os.remove(self._path(name))
            except OSError:
                pass
            os.rename(tmp, self._path(name))
        return True

    def rev(self):
        try:
            with open(self.folder + "/rev") as f:
                return f.read().strip()
        except OSError:
            return ""

    def set_rev(self, rev):
        with open(self.folder + "/rev", "w") as f:
            f.write(rev)

    def stream(self, name, write):
        """Write the block as GS v 0 through `write`; False if the kiosk does not have it."""
        try:
            f = open(self._path(name), "rb")  # noqa: SIM115 - closed by the with below
        except OSError:
            return False
        with f:
            width, height = struct.unpack("<HH", f.read(4))
            x = (width + 7) // 8
            write(b"\x1dv0\x00" + bytes((x & 0xFF, x >> 8, height & 0xFF, height >> 8)))
            buf = bytearray(CHUNK)
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                write(buf if n == CHUNK else buf[:n])
        return True


class Printer:
    def __init__(self, uart, store):
        self.uart, self.store = uart, store

    def print_ops(self, ops):
        write = self.uart.write
        write(b"\x1b@\x1ba\x01")
        for op in ops:
            kind = op[0]
            if kind == "img":
                if not self.store.stream(op[1], write):
                    write(op[2].encode() + b"\n")
            elif kind == "txt":
                write(GS_SIZE + b"\x11" + op[1].encode() + b"\n" + GS_SIZE + b"\x00")
            elif kind == "big":
                n = op[2] if len(op) > 2 else 4  # as the gateway sizes it (gateway/ticket.py big_size)
                write(GS_SIZE + bytes(((n - 1) << 4 | (n - 1),)) + op[1].encode() + b"\n" + GS_SIZE + b"\x00")
            elif kind == "qr":
                self.qr(op[1])
            elif kind == "cut":
                write(b"\n\n\n\x1dVB\x00")

    def paper(self):
        """The paper sensor (DLE EOT 4): "ok", "low", "out", or "unknown" if the printer is silent."""
        self.uart.write(b"\x10\x04\x04")
        reply = self.uart.read(1)
        if not reply:
            return "unknown"
        status = reply[0]
        if status & 0x60:
            return "out"
        return "low" if status & 0x0C else "ok"

    def qr(self, data, module=6):
        payload = data.encode()
        n = len(payload) + 3
        write = self.uart.write
        write(b"\x1d(k\x04\x001A2\x00")
        write(b"\x1d(k\x03\x001C" + bytes((module,)))
        write(b"\x1d(k\x03\x001E1")
        write(b"\x1d(k" + bytes((n & 0xFF, n >> 8)) + b"1P0" + payload)
        write(b"\x1d(k\x03\x001Q0\n")
