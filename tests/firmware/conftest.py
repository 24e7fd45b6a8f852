"""Run firmware code on the real MicroPython interpreter (the unix port from PyPI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "app"
MICROPYTHON = Path(sys.executable).parent / "micropython"


def run_micropython(script: str, cwd: Path, heap: str = "64wK", timeout: float = 30, path_extra: str = "") -> str:
    """Run a script with the firmware on the module path; return its output or fail with it.

    `path_extra` goes first on the path: the simulated `machine` module shadows the built-in one."""
    path = f"{path_extra}:{FIRMWARE}:.frozen" if path_extra else f"{FIRMWARE}:.frozen"
    env = {**os.environ, "MICROPYPATH": path}
    proc = subprocess.run(
        [str(MICROPYTHON), "-X", f"heapsize={heap}", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def micropython(tmp_path):
    """micropython(script) runs it in a fresh folder that plays the board's flash."""
    return lambda script, **kw: run_micropython(script, tmp_path, **kw)


@pytest.fixture
def micropython_process(tmp_path):
    """Start a script on MicroPython as a process (to kill it): returns a Popen."""

    def start(script: str, heap: str = "64wK") -> subprocess.Popen:
        env = {**os.environ, "MICROPYPATH": f"{FIRMWARE}:.frozen"}
        return subprocess.Popen(
            [str(MICROPYTHON), "-X", f"heapsize={heap}", "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

    return start
