"""Every firmware file compiles for the ESP32's Xtensa core with mpy-cross."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
MPY_CROSS = Path(sys.executable).parent / "mpy-cross"
SOURCES = sorted(FIRMWARE.rglob("*.py"))


def test_there_is_firmware_to_check():
    assert SOURCES


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_compiles_for_xtensawin(source, tmp_path):
    out = tmp_path / (source.stem + ".mpy")
    proc = subprocess.run(
        [str(MPY_CROSS), "-march=xtensawin", "-o", str(out), str(source)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


def test_type_checks_against_micropython_esp32_stubs():
    """pyright with MicroPython's ESP32 stubs as the standard library: a CPython-only API such as
    time.perf_counter() or a missing asyncio.sleep_ms would fail here, not on a board."""
    stubs = FIRMWARE.parent / ".venv" / "mpstubs" / "machine.pyi"
    assert stubs.exists(), "run `make test`: it installs micropython-esp32-stubs into .venv/mpstubs"
    # The wrapper would otherwise ask PyPI for a newer pyright on every run: a test needs no network.
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    pyright = str(Path(sys.executable).parent / "pyright")
    proc = subprocess.run([pyright], cwd=FIRMWARE, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0 errors" in proc.stdout
