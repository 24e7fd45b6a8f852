"""A board's MicroPython through mpremote: on USB (/dev/ttyUSB0) or a virtual board
(socket://127.0.0.1:PORT). `resume` everywhere: the tools never soft-reset a board unasked."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FACTS = (
    "import sys, json; i = sys.implementation; print(json.dumps([sys.platform, getattr(i, '_machine', ''), "
    "getattr(i, '_mpy', 0), '.'.join(str(n) for n in i.version[:3])]))"
)


NOT_IN_RAW_REPL = "could not enter raw repl"
NOT_IN_RAW_REPL_TRIES = 3


class DeviceError(Exception):
    pass


@dataclass(frozen=True)
class Facts:
    platform: str  # "esp32", or "linux" for the unix port of a virtual board
    machine: str  # e.g. "Generic ESP32S3 module with ESP32S3"
    mpy: int
    version: str

    @property
    def chip(self) -> str | None:
        """The chip as a board profile names it, or None for a virtual board."""
        if self.platform != "esp32":
            return None
        return "esp32s3" if "ESP32S3" in self.machine.replace("-", "") else "esp32"


class Device:
    def __init__(self, port: str, timeout: float = 60):
        self.port, self.timeout = port, timeout
        self.mpremote = str(Path(sys.executable).with_name("mpremote"))

    def _run(self, *args: str) -> str:
        for attempt in range(NOT_IN_RAW_REPL_TRIES):
            try:
                done = subprocess.run([self.mpremote, "connect", self.port, "resume", *args], capture_output=True,
                                      text=True, timeout=self.timeout)  # fmt: skip
            except subprocess.TimeoutExpired as e:
                raise DeviceError(f"{self.port}: no answer from MicroPython within {self.timeout:.0f} s") from e
            # The raw REPL's prompt sometimes misses mpremote's wait (a board busy printing, a
            # loaded machine): nothing ran on the board yet, so asking again is safe.
            if done.returncode == 0 or NOT_IN_RAW_REPL not in done.stderr + done.stdout:
                break
            if attempt + 1 < NOT_IN_RAW_REPL_TRIES:
                time.sleep(0.5 * (attempt + 1))
        if done.returncode != 0:
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise DeviceError(f"{self.port}: {lines[-1] if lines else 'mpremote failed'}")
        return done.stdout

    def exec(self, code: str) -> str:
        return self._run("exec", code)

    def facts(self) -> Facts:
        out = self.exec(FACTS)
        try:
            platform, machine, mpy, version = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            raise DeviceError(f"{self.port}: this does not look like MicroPython: {out[-200:]!r}") from e
        return Facts(platform, machine, mpy, version)

    def mkdir(self, path: str) -> None:
        self.exec(f"import os\ntry:\n    os.mkdir({path!r})\nexcept OSError:\n    pass")

    def put(self, pairs: list[tuple[Path, str]]) -> None:
        """Copy files in one mpremote session (`fs cp a :a + fs cp b :b …`): a session costs more
        than a file."""
        args: list[str] = []
        for local, remote in pairs:
            args += [*(["+"] if args else []), "fs", "cp", str(local), f":{remote}"]
        self._run(*args)

    def reset(self) -> None:
        """A hard reset; the board boots and runs main.py."""
        self._run("exec", "--no-follow", "import machine; machine.reset()")
