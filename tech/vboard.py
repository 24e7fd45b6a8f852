"""A virtual board for technicians and tests: the MicroPython unix port on a pseudo-terminal,
its serial console served on a TCP port, a folder as its flash.

    hangcho-tech virtual-board --flash /tmp/board --port 7788

mpremote and pyserial reach it as `socket://127.0.0.1:7788`, as they would a board on USB.
At power-up it runs main.py from the flash folder (firmware/sim/power_on.py), with the
simulated `machine`, `network` and `esp32` first on its path and `lib/` after them. When the
firmware calls machine.reset() the process ends and the board boots again. Connecting does
not reset it; what it prints while nobody is connected is kept in <flash>/console.log.
(CPython, not MicroPython: this is the test bench, not the firmware.)
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import socket
import subprocess
import sys
import termios
import threading
import tty
from pathlib import Path

from .hostboard import HEAP
from .listener import close_listener

SIM = Path(__file__).resolve().parent.parent / "firmware" / "sim"


def _own_terminal() -> None:
    """In the child: a session of its own with the pty as its controlling terminal, so that a
    Ctrl-C byte from the client reaches it as SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class VirtualBoard:
    def __init__(self, flash: Path, port: int = 0, micropython: str | None = None, env: dict | None = None):
        self.flash = Path(flash)
        self.flash.mkdir(parents=True, exist_ok=True)
        self.micropython = micropython or str(Path(sys.executable).with_name("micropython"))
        self.extra_env = env or {}
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self.master, self.slave = pty.openpty()
        self.boots = 0
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._spoke = threading.Event()  # the board has said something since it was powered on
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._power, self._serve, self._pump)]

    def start(self, timeout: float = 10.0) -> VirtualBoard:
        """Power on, and return once the board has said something (its REPL's banner, or its
        app's first line): bytes sent before its terminal is set up would be lost, and mpremote
        would then miss the raw REPL's prompt on a loaded machine."""
        for t in self._threads:
            t.start()
        self._spoke.wait(timeout)
        return self

    def _power(self) -> None:
        """Boot, and boot again whenever the process ends (a reset), until stopped."""
        env = {**os.environ, "MICROPYPATH": f"{SIM}:lib:.frozen", "HANGCHO_CAPTURE": str(self.flash),
               **self.extra_env}  # fmt: skip
        while not self._stop.is_set():
            self._line_settings()  # a killed REPL leaves its own terminal modes behind
            self.boots += 1
            self.proc = subprocess.Popen([self.micropython, "-X", f"heapsize={HEAP}", "-i", str(SIM / "power_on.py")],
                                         cwd=self.flash, env=env, stdin=self.slave, stdout=self.slave,
                                         stderr=self.slave, preexec_fn=_own_terminal)  # fmt: skip
            self.proc.wait()

    def _line_settings(self) -> None:
        tty.setraw(self.slave)  # bytes as a UART carries them: no echo, no \n → \r\n
        attrs = termios.tcgetattr(self.slave)
        attrs[3] |= termios.ISIG  # but Ctrl-C still interrupts the running program, as on a board
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)

    def _serve(self) -> None:
        """One client at a time, like a serial port."""
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self._client = client
            try:
                while not self._stop.is_set():
                    data = client.recv(4096)
                    if not data:
                        break
                    os.write(self.master, data)
            except OSError:
                pass
            finally:
                self._client = None
                client.close()

    def _pump(self) -> None:
        """The board's output to the connected client, or to console.log when there is none."""
        with open(self.flash / "console.log", "ab") as log:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    continue
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                self._spoke.set()
                client = self._client
                try:
                    if client is None:
                        raise OSError
                    client.sendall(data)
                except OSError:
                    log.write(data)
                    log.flush()

    def stop(self) -> None:
        self._stop.set()
        close_listener(self.server, self._threads[1])
        if self._client is not None:
            self._client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
