"""The app as a board runs it: firmware/app compiled with mpy-cross for the board's own
architecture, in lib/, and a main.py that starts it at power-up."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "firmware" / "app"
# sys.implementation._mpy >> 10 on the board → mpy-cross -march (MicroPython's own numbering).
ARCHES = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em", 7: "armv7emsp",
          8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc", 12: "rv64imc"}  # fmt: skip
ENTRY = "hangcho"  # the app's main.py becomes lib/hangcho.mpy: a board's main.py must be source
BOOT_MAIN = f"# Written by hangcho-tech: start the Hàng Chờ app at power-up.\nimport {ENTRY}\n\n{ENTRY}.main()\n"


class BundleError(Exception):
    pass


@dataclass(frozen=True)
class Bundle:
    folder: Path
    files: list[str]  # paths on the board, e.g. "lib/kiosk.mpy", "main.py"
    version: str  # sha256 of the files, short: what `info` reports as the bundle

    def local(self, name: str) -> Path:
        return self.folder / name


def march(mpy: int) -> str:
    arch = ARCHES.get(mpy >> 10)
    if arch is None:
        raise BundleError(f"the board reports no native architecture (sys.implementation._mpy = {mpy})")
    return arch


def build(folder: Path, arch: str) -> Bundle:
    """Compile every app module for `arch` into folder/lib, and write folder/main.py."""
    lib = folder / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    mpy_cross = str(Path(sys.executable).with_name("mpy-cross"))
    files = []
    for source in sorted(APP.glob("*.py")):
        name = ENTRY if source.stem == "main" else source.stem
        out = lib / f"{name}.mpy"
        done = subprocess.run(
            [mpy_cross, f"-march={arch}", "-o", str(out), str(source)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BundleError(f"mpy-cross could not compile {source.name}: {done.stderr.strip()}")
        files.append(f"lib/{out.name}")
    (folder / "main.py").write_text(BOOT_MAIN, encoding="utf-8")
    files.append("main.py")
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return Bundle(folder, files, digest.hexdigest()[:12])
