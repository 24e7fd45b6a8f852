"""The board's own account, on its console, of why it is not online: what `hangcho-tech` shows."""

from __future__ import annotations

import json


def test_the_console_names_what_keeps_the_board_offline(broker, sim_board, dut):
    """What a technician reads when a board does not come online: the broker it cannot reach,
    or the Wi-Fi it cannot join."""
    board = sim_board("kiosk", "kiosk-1")
    config = json.loads((board.folder / "config.json").read_text())
    config["broker"]["port"] = 1  # nothing listens there
    (board.folder / "config.json").write_text(json.dumps(config))
    board.start()
    dut.expect(r"mqtt: broker 127\.0\.0\.1:1: OSError\(", timeout=15)
    board.wifi(False)
    dut.expect("wifi: cannot join TTPVHCC", timeout=30)
