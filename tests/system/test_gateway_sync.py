"""`hangcho-gateway run --sync-url …` as a process, pushing to the real central server: presses
on a kiosk reach the province, also across a kill -9 of the gateway while the server is away."""

from __future__ import annotations

import time

from sqlalchemy import select

from rig.province import Province
from server import schema


def wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_presses_reach_the_province_across_a_gateway_crash_and_a_server_outage(gateway_process, boards, center,
                                                                                tmp_path):  # fmt: skip
    province = Province(f"sqlite:///{tmp_path / 'server.db'}", [center]).start()
    (tmp_path / "token").write_text(province.tokens["test"])
    issued = lambda: province.issued().get("test", 0)  # noqa: E731
    gateway_process.extra = ["--sync-url", province.url,
                             "--sync-token-file", str(tmp_path / "token"), "--sync-interval", "1"]  # fmt: skip
    gateway_process.start()
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0))
    wait_until(lambda: issued() == 1)

    province.stop()  # the province is away…
    kiosk.ack_for(kiosk.press(button=1))
    time.sleep(1.5)  # …while the gateway builds its batch and fails to send it
    gateway_process.kill()  # and the gateway loses its power
    gateway_process.start()
    kiosk.ack_for(kiosk.press(button=0))
    province.start()
    wait_until(lambda: issued() == 3, timeout=30)  # the backoff may be a few seconds
    time.sleep(2)
    assert issued() == 3  # and nothing twice
    with province.engine.connect() as conn:
        snapshot = conn.execute(select(schema.snapshots.c.body)).scalar_one()
    assert sum(w["count"] for w in snapshot["waiting"]) == 3
    province.close()
