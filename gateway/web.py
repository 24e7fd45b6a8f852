"""The gateway's web pages on the center's network (Flask): the hall's TV page for now.

The hall page is live through server-sent events. The stream starts with the
whole view and then sends each new one; a comment line every few seconds
keeps proxies and the page's own watchdog sure the link is alive. The browser
reconnects by itself (EventSource, `retry: 1000`), and the page reconnects on
its own too when the stream goes silent, so a TV left on all day never needs
a manual reload — the complaint made most often about other systems' panels.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template
from werkzeug.serving import make_server

from .config import CenterConfig
from .console import PinGuard, console
from .hub import ViewHub
from .views import ticket_view

HEARTBEAT_S = 5.0

hall = Blueprint("hall", __name__)
status = Blueprint("status", __name__)


def create_app(
    hub: ViewHub,
    read: Callable[[Callable], Any] | None = None,
    submit: Callable[[Any], Any] | None = None,
    center: CenterConfig | None = None,
    secret_key: str | bytes | None = None,
    devices: Callable[[], dict] | None = None,
    test_config: dict | None = None,
    ota_dir: Path | None = None,
) -> Flask:
    """The pages. `read(fn)` calls fn(state) while the worker is not changing it; `submit(command)`
    runs a console command through the worker. Without them only the hall page is served."""
    app = Flask(__name__)
    app.config.update(HUB=hub, READ=read, SUBMIT=submit, CENTER=center, DEVICES=devices, PIN_GUARD=PinGuard())
    app.config.update(SECRET_KEY=secret_key or secrets.token_bytes(32), SESSION_COOKIE_SAMESITE="Strict")
    if test_config:
        app.config.update(test_config)
    app.register_blueprint(hall)
    app.register_blueprint(status)
    if submit is not None and center is not None:
        app.register_blueprint(console)
    if ota_dir is not None:
        from . import ota

        app.register_blueprint(ota.blueprint(ota_dir))
    return app


@hall.get("/")
@hall.get("/hall")
def hall_page() -> str:
    return render_template("hall.html")


@hall.get("/hall/events")
def hall_events() -> Response:
    hub: ViewHub = current_app.config["HUB"]
    return Response(
        _stream(hub, "hall"),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@status.get("/devices")
def devices_page() -> str:
    """The fleet at a glance for the technician: the same report as /api/devices, kept fresh."""
    if current_app.config["DEVICES"] is None:
        abort(404)
    return render_template("devices.html")


@status.get("/api/devices")
def devices_json() -> Response:
    """Every board and the current alerts (read-only, as the hall page: no personal data)."""
    report = current_app.config["DEVICES"]
    if report is None:
        abort(404)
    return jsonify(report())


@status.get("/t/<day>/<ticket>")
def ticket_page(day: str, ticket: str) -> tuple[str, int]:
    view = _ticket(day, ticket)
    return render_template("ticket.html", view=view, day=day, ticket=ticket), 200 if view else 404


@status.get("/t/<day>/<ticket>.json")
def ticket_json(day: str, ticket: str) -> Response:
    view = _ticket(day, ticket)
    if view is None:
        abort(404)
    return jsonify(view)


def _ticket(day: str, ticket: str) -> dict | None:
    read = current_app.config["READ"]
    return read(lambda state: ticket_view(state, day, ticket)) if read else None


def _stream(hub: ViewHub, name: str) -> Iterator[str]:
    version, view = hub.latest(name)
    yield "retry: 1000\n\n"
    if view is not None:
        yield _event(version, view)
    while not hub.closed:
        got = hub.wait(name, version, HEARTBEAT_S)
        if got is None:
            yield "event: ping\ndata: {}\n\n"
            continue
        version, view = got
        yield _event(version, view)


def _event(version: int, view: object) -> str:
    return f"id: {version}\ndata: {json.dumps(view, ensure_ascii=False)}\n\n"


class WebServer:
    """The pages on a thread of the gateway's process (werkzeug's threaded server: a center's
    network has a handful of screens and phones, not thousands)."""

    def __init__(self, app: Flask, host: str, port: int):
        self.server = make_server(host, port, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="hangcho-web", daemon=True)

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
