"""`hangcho-gateway run --sync-url …` as a process, pushing to the real central server: presses
on a kiosk reach the province, also across a kill -9 of the gateway while the server is away."""

from __future__ import annotations

import socket
import time

from sqlalchemy import func, select

from gateway.web import WebServer
from server import accounts, schema
from server.app import close, create_app
from server.settings import Settings


def issued_on_server(app) -> int:
    with app.extensions["hangcho.engine"].connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(schema.hourly.c.issued), 0))).scalar_one()


def wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_presses_reach_the_province_across_a_gateway_crash_and_a_server_outage(gateway_process, boards, tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'server.db'}", secret_key="test"))
    with app.extensions["hangcho.engine"].begin() as conn:
        accounts.add_center(conn, "test", "Trung tâm thử nghiệm", "Phường Thử")
        (tmp_path / "token").write_text(accounts.add_gateway(conn, "test"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = WebServer(app, "127.0.0.1", port).start()
    gateway_process.extra = ["--sync-url", f"http://127.0.0.1:{port}/api/v1/sync",
                             "--sync-token-file", str(tmp_path / "token"), "--sync-interval", "1"]  # fmt: skip
    gateway_process.start()
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0))
    wait_until(lambda: issued_on_server(app) == 1)

    server.stop()  # the province is away…
    kiosk.ack_for(kiosk.press(button=1))
    time.sleep(1.5)  # …while the gateway builds its batch and fails to send it
    gateway_process.kill()  # and the gateway loses its power
    gateway_process.start()
    kiosk.ack_for(kiosk.press(button=0))
    server = WebServer(app, "127.0.0.1", port).start()
    wait_until(lambda: issued_on_server(app) == 3, timeout=30)  # the backoff may be a few seconds
    time.sleep(2)
    assert issued_on_server(app) == 3  # and nothing twice
    with app.extensions["hangcho.engine"].connect() as conn:
        snapshot = conn.execute(select(schema.snapshots.c.body)).scalar_one()
    assert sum(w["count"] for w in snapshot["waiting"]) == 3
    server.stop()
    close(app)
