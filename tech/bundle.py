"""The app as a board runs it: firmware/app compiled with mpy-cross for the board's own
architecture into a versioned bundle (apps/<version>/ on the board), and the boot script.

The boot script is the board's main.py, written once by provisioning and never replaced by an
update: it runs the current bundle, or a new one once on trial, and falls back to the current
one when a trial did not commit (firmware/app/ota.py)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "firmware" / "app"
# sys.implementation._mpy >> 10 on the board → mpy-cross -march (MicroPython's own numbering).
ARCHES = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em", 7: "armv7emsp",
          8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc", 12: "rv64imc"}  # fmt: skip
ENTRY = "hangcho"  # the app's main.py becomes hangcho.mpy: the board's own main.py is the boot script
BOOT_SCRIPT = """# Written by hangcho-tech: the boot script. It picks the app bundle to run and is never replaced
# by an update, so a bad bundle cannot take the board down with it.
import os
import sys


def _read(name):
    try:
        with open("apps/" + name) as f:
            return f.read().strip()
    except OSError:
        return ""


def _write(name, text):
    with open("apps/" + name, "w") as f:
        f.write(text)


def _remove(name):
    try:
        os.remove("apps/" + name)
    except OSError:
        pass


version = _read("current")
if _read("trial"):  # a new bundle: run it once; the app commits it when healthy
    version = _read("trial")
    _write("trying", version)
    _remove("trial")
elif _read("trying"):  # the trial never committed: back to the current bundle
    _write("failed", _read("trying"))
    _remove("trying")
sys.path.insert(0, "apps/" + version)
try:
    import hangcho

    hangcho.main()
except Exception as e:  # a crash resets the board, and an uncommitted trial is rolled back
    sys.print_exception(e)
    import machine
    import time

    time.sleep(2)
    machine.reset()
"""


class BundleError(Exception):
    pass


@dataclass(frozen=True)
class Bundle:
    folder: Path  # holds the files and manifest.json
    files: dict[str, str]  # name → sha256
    version: str


def march(mpy: int) -> str:
    arch = ARCHES.get(mpy >> 10)
    if arch is None:
        raise BundleError(f"the board reports no native architecture (sys.implementation._mpy = {mpy})")
    return arch


def build(folder: Path, arch: str, app: Path = APP) -> Bundle:
    """Compile every module of `app` for `arch` into folder, with its manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    mpy_cross = str(Path(sys.executable).with_name("mpy-cross"))
    files = {}
    for source in sorted(app.glob("*.py")):
        name = f"{ENTRY if source.stem == 'main' else source.stem}.mpy"
        done = subprocess.run([mpy_cross, f"-march={arch}", "-o", str(folder / name), str(source)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise BundleError(f"mpy-cross could not compile {source.name}: {done.stderr.strip()}")
        files[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]
    (folder / "manifest.json").write_text(json.dumps({"version": version, "arch": arch, "files": files}))
    return Bundle(folder, files, version)
