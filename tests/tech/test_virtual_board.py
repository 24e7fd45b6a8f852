"""The virtual board that technician tools are tested against: the MicroPython unix port on a
pseudo-terminal, reached by mpremote over TCP, with a folder as its flash."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tech.device import Device, DeviceError
from tech.vboard import VirtualBoard

MPREMOTE = str(Path(sys.executable).with_name("mpremote"))


def mpremote(board, *args):
    return subprocess.run([MPREMOTE, "connect", board.url, "resume", *args], capture_output=True, text=True, timeout=30)


def test_files_go_to_its_flash_and_a_reset_boots_main_py(tmp_path):
    board = VirtualBoard(tmp_path / "flash").start()
    try:
        (tmp_path / "main.py").write_text("print('booted')\nimport time\nwhile True:\n    time.sleep(1)\n")
        assert mpremote(board, "fs", "cp", str(tmp_path / "main.py"), ":main.py").returncode == 0
        assert (tmp_path / "flash" / "main.py").read_text().startswith("print('booted')")
        assert mpremote(board, "exec", "--no-follow", "import machine; machine.reset()").returncode == 0
        deadline = time.monotonic() + 10
        while b"booted" not in (tmp_path / "flash" / "console.log").read_bytes():
            assert time.monotonic() < deadline, "main.py did not run after the reset"
            time.sleep(0.1)
        assert board.boots == 2
        answer = mpremote(board, "exec", "print(6 * 7)")  # Ctrl-C stops main.py, as on a board
        assert answer.returncode == 0 and answer.stdout.strip() == "42", answer
    finally:
        board.stop()


def test_the_tools_ask_again_when_the_raw_repl_prompt_is_missed(tmp_path):
    """mpremote sometimes misses the raw REPL's prompt (a board busy printing, a loaded machine;
    seen once in `make test`): nothing ran yet, so tech/device.py asks again, up to three times.
    Here the first two sessions meet a board that never shows the prompt."""
    board = VirtualBoard(tmp_path / "flash").start()
    calls, fails = tmp_path / "calls", tmp_path / "fails"  # the script is never rewritten: it may be running
    fails.write_text("2")
    stand_in = tmp_path / "mpremote"
    stand_in.write_text(
        f"#!/bin/sh\necho x >> {calls}\n"
        f'[ $(wc -l < {calls}) -le $(cat {fails}) ] && {{ echo "mpremote.transport.TransportError: could not enter'
        f' raw repl" >&2; exit 1; }}\nexec {MPREMOTE} "$@"\n'
    )
    stand_in.chmod(0o755)
    try:
        device = Device(board.url)
        device.mpremote = str(stand_in)
        assert device.exec("print(6 * 7)").strip() == "42"
        assert calls.read_text().count("x") == 3
        fails.write_text("1000")  # from now on every session fails: the error is reported
        with pytest.raises(DeviceError, match="could not enter raw repl"):
            device.exec("print(1)")
        assert calls.read_text().count("x") == 6
    finally:
        board.stop()
