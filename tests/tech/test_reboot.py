"""`hangcho-tech reboot`: the board restarts once, comes back online, and a serving counter is
left alone."""

from __future__ import annotations

import json
import re
import time

from click.testing import CliRunner

from tech.cli import main

from .conftest import SMALL_CENTER


def reboot(broker, device, *extra):
    args = ["reboot", "--device", device, "--config", str(SMALL_CENTER), "--broker", f"127.0.0.1:{broker.port}",
            "--broker-dir", str(broker.files.secrets.parent), "--seconds", "30", *extra]  # fmt: skip
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_a_board_restarts_once_and_is_back_online(gateway, broker, virtual_board, provision):
    assert provision(virtual_board, broker).exit_code == 0
    console = virtual_board.flash / "console.log"
    onlines = console.read_text(errors="replace").count("link: online")
    result = reboot(broker, "kiosk-1")
    assert result.exit_code == 0, result.output + console.read_text(errors="replace")[-2000:]
    assert "OK: kiosk-1 restarted and online again after" in result.output
    time.sleep(3)  # a command handed over again after the restart would restart it again by now
    text = console.read_text(errors="replace")
    # The line may follow the REPL's prompt of the restarted interpreter (">>> reboot"), as seen
    # once on a loaded machine: counted as a line, not as "\nreboot".
    reboots = re.findall(r"(?m)^(?:>>> )*reboot$", text)
    assert len(reboots) == 1 and text.count("link: online") == onlines + 1, text[-2000:]


def test_a_serving_counter_is_left_alone_unless_forced(gateway, broker, boards):
    kiosk, counter = boards("kiosk-1"), boards("counter-1")
    info = json.dumps({"role": "counter"})
    counter.client.publish(counter.topic("info"), info, qos=1, retain=True).wait_for_publish(5)
    counter.ack_for(counter.key("open"))
    kiosk.ack_for(kiosk.press())
    counter.ack_for(counter.key("next"))
    refused = reboot(broker, "counter-1")
    assert refused.exit_code == 1 and "counter-1 is serving ticket A001: wait until it is done" in refused.output
    assert not [m for m in counter.messages if m[0] == "cmd/reboot"]
    forced = reboot(broker, "counter-1", "--force", "--seconds", "2")
    assert "did not come back online within 2 s" in forced.output  # this stand-in board does not restart
    sent = next(body for leaf, body in counter.messages if leaf == "cmd/reboot")
    assert sent["exp"] > sent["at"] > time.time() - 10


def test_an_unknown_device_is_refused(broker):
    result = reboot(broker, "kiosk-9")
    assert result.exit_code == 1 and "no device 'kiosk-9'" in result.output
