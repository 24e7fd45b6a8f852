"""A virtual board, and provisioning it with `hangcho-tech` against the test's broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tech.cli import main
from tech.vboard import VirtualBoard

SMALL_CENTER = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"


@pytest.fixture
def virtual_board(tmp_path):
    board = VirtualBoard(tmp_path / "flash").start()
    yield board
    board.stop()


@pytest.fixture
def provision():
    """provision(board, broker, *options, device=…, config=…): `hangcho-tech provision`'s result."""

    def run(board, broker, *extra, device="kiosk-1", config=SMALL_CENTER):
        args = ["provision", "--port", board.url, "--config", str(config), "--device", device,
                "--board", "esp32-devkitc", "--wifi", "TTPVHCC", "--wifi-password", "mật khẩu",
                "--broker", f"127.0.0.1:{broker.tls_port}", "--local-broker", f"127.0.0.1:{broker.port}",
                "--broker-dir", str(broker.files.secrets.parent),
                "--reload", f"kill -HUP {broker.proc.pid}", "--timeout", "20", *extra]  # fmt: skip
        return CliRunner().invoke(main, args, catch_exceptions=False)

    return run
