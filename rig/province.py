"""The central server on a fixed port of this machine, its centers registered and each gateway's
token made: stopped and started again, it plays the province's server being away."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence

from sqlalchemy import func, select

from gateway.config import CenterConfig
from gateway.web import WebServer
from server import accounts, schema
from server.app import close, create_app
from server.settings import Settings

from .broker import free_port


class Province:
    def __init__(self, database_url: str, centers: Sequence[CenterConfig], sites: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.time, province: str = "", commune: int | None = None):  # fmt: skip
        """`sites`: center id → the satellite site's name (a center not named is its ward's main site);
        `clock`: the server's, the gateways' simulated one when they live a simulated day; `commune`:
        the official code of the centers' commune (server/hierarchy.py), if they have a real one."""
        settings = Settings(database_url=database_url, secret_key=secrets.token_hex(16), province=province)
        self.app = create_app(settings, clock=clock)
        self.engine = self.app.extensions["hangcho.engine"]
        with self.engine.begin() as conn:
            for c in centers:
                accounts.add_center(conn, c.id, c.name, c.ward, (sites or {}).get(c.id, "main"), commune)
            self.tokens = {c.id: accounts.add_gateway(conn, c.id) for c in centers}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"  # the pages: dashboard, public ticket pages
        self.url = f"{self.base}/api/v1/sync"  # where gateways push
        self.web: WebServer | None = None  # away until started: nothing listens on the port

    def start(self) -> Province:
        self.web = WebServer(self.app, "127.0.0.1", self.port).start()
        return self

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None

    def close(self) -> None:
        self.stop()
        close(self.app)

    def issued(self, day: str | None = None) -> dict[str, int]:
        """Tickets per center in the hourly totals (of one day, or all)."""
        h = schema.hourly
        query = select(h.c.center_id, func.sum(h.c.issued)).group_by(h.c.center_id)
        if day is not None:
            query = query.where(h.c.day == day)
        with self.engine.connect() as conn:
            return {center: int(n) for center, n in conn.execute(query)}
