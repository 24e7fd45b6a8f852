"""The gateway's web pages on the center's network (Flask): the hall's TV page for now.

The hall page is live through server-sent events. The stream starts with the
whole view and then sends each new one; a comment line every few seconds
keeps proxies and the page's own watchdog sure the link is alive. The browser
reconnects by itself (EventSource, `retry: 1000`), and the page reconnects on
its own too when the stream goes silent, so a TV left on all day never needs
a manual reload — the complaint made most often about other systems' panels.

A stream holds one of the server's threads for as long as the TV is on, so
streams are counted: STREAMS_PER_CLIENT per address and STREAMS_TOTAL in all;
one more is refused with a clear 503 (the page retries), so one client opening
many cannot starve the others.

Only the hall page, its stream, the static files and the ticket status page are
served over plain HTTP (PLAIN_PATHS): TVs and citizens' phones cannot trust the
center's own CA, and they carry nothing secret. Everything else (the console and
its PIN and cookie, the fleet page, the OTA bundles) is HTTPS only; a plain GET
is redirected, anything else refused. A client on this machine itself (loopback)
is exempt: its bytes never cross the LAN. Every answer carries the security
headers (SECURITY_HEADERS; HSTS on HTTPS).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import waitress
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request
from waitress import wasyncore

from .config import CenterConfig
from .console import PinThrottle, console
from .hub import ViewHub
from .sessions import SessionStore
from .views import ticket_view

HEARTBEAT_S = 5.0
GONE_CHECK_S = 0.5
STREAMS_PER_CLIENT = 4  # a TV, and a reconnect or two while the old stream is noticed gone
STREAMS_TOTAL = 24  # a center has a handful of hall screens
THREADS = STREAMS_TOTAL + 8  # the streams, and threads left for every other page
PLAIN_PATHS = ("/", "/hall", "/hall/events", "/static/", "/t/")  # a trailing slash: the whole folder
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=31536000"

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
    sessions: Path | None = None,
    https_port: int = 443,
    clock: Callable[[], float] = time.time,
    voice: Any = None,
) -> Flask:
    """The pages. `read(fn)` calls fn(state) while the worker is not changing it; `submit(command)`
    runs a console command through the worker. Without them only the hall page is served.
    `sessions` is the console's sign-in file (in memory when None); `https_port` is where plain
    HTTP is redirected to; `clock` is the center's (the demo's simulated one); `voice` (a
    gateway.voice_pack.Voice) opens the recording page (gateway/voice_admin.py)."""
    app = Flask(__name__)
    key = secret_key if isinstance(secret_key, bytes) else (secret_key or "").encode() or secrets.token_bytes(32)
    app.config.update(HUB=hub, READ=read, SUBMIT=submit, CENTER=center, DEVICES=devices, PIN_THROTTLE=PinThrottle(),
                      STREAMS=StreamSlots(STREAMS_PER_CLIENT, STREAMS_TOTAL), HTTPS_PORT=https_port,
                      SECRET_KEY=key, CLOCK=clock)  # fmt: skip
    if test_config:
        app.config.update(test_config)
    app.before_request(_tls_only)
    app.after_request(_security_headers)
    app.register_blueprint(hall)
    app.register_blueprint(status)
    if center is not None and (submit is not None or voice is not None):
        from .voice_admin import ADMIN

        pins = {c.number: c.pin for c in center.counters} | {ADMIN: center.admin_pin}
        app.config["SESSIONS"] = SessionStore(sessions or ":memory:", key, pins)
    if submit is not None and center is not None:
        app.register_blueprint(console)
    if voice is not None and center is not None:
        from .voice_admin import voice_admin

        app.config["VOICE"] = voice
        app.register_blueprint(voice_admin)
    if ota_dir is not None:
        from . import ota

        app.register_blueprint(ota.blueprint(ota_dir))
    return app


def plain_allowed(path: str) -> bool:
    """Whether `path` may be served over plain HTTP (PLAIN_PATHS)."""
    return any(path == p or (p.endswith("/") and p != "/" and path.startswith(p)) for p in PLAIN_PATHS)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _tls_only():
    """Plain HTTP from the LAN reaches only PLAIN_PATHS: a GET is sent to HTTPS, anything else refused
    before it is read (a PIN that came in the clear is not checked)."""
    if request.is_secure or plain_allowed(request.path) or _loopback(request.remote_addr):
        return None
    if request.method in ("GET", "HEAD"):
        port = current_app.config["HTTPS_PORT"]
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        return redirect(f"https://{host}{'' if port == 443 else f':{port}'}{request.full_path.rstrip('?')}", 301)
    return Response("Chỉ dùng qua HTTPS (HTTPS only).\n", 403, mimetype="text/plain")


def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


class StreamSlots:
    """Counts open hall streams per client address and in all."""

    def __init__(self, per_client: int, total: int):
        self.per_client, self.total = per_client, total
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def take(self, client: str) -> bool:
        with self._lock:
            if self._open[client] >= self.per_client or self._open.total() >= self.total:
                return False
            self._open[client] += 1
            return True

    def give_back(self, client: str) -> None:
        with self._lock:
            self._open[client] -= 1
            if self._open[client] <= 0:
                del self._open[client]

    def open(self) -> int:
        with self._lock:
            return self._open.total()


class _Held:
    """An answer's body that gives its stream slot back when the server closes it, even unread."""

    def __init__(self, body: Iterator[str], release: Callable[[], None]):
        self.body, self._release = body, release

    def __iter__(self):
        return self

    def __next__(self) -> str:
        return next(self.body)

    def close(self) -> None:
        release, self._release = self._release, None
        try:
            self.body.close()  # type: ignore[attr-defined]
        finally:
            if release is not None:
                release()


@hall.get("/")
@hall.get("/hall")
def hall_page() -> str:
    center = current_app.config["CENTER"]
    return render_template("hall.html", timezone=center.timezone if center else "Asia/Ho_Chi_Minh")


@hall.get("/hall/events")
def hall_events() -> Response:
    hub: ViewHub = current_app.config["HUB"]
    slots: StreamSlots = current_app.config["STREAMS"]
    client = request.remote_addr or "?"
    if not slots.take(client):
        message = "Quá nhiều màn hình đang mở luồng này; thử lại sau (too many streams open).\n"
        return Response(message, 503, {"Retry-After": "5", "Cache-Control": "no-store"}, mimetype="text/plain")
    gone = request.environ.get("waitress.client_disconnected", lambda: False)
    return Response(
        _Held(_stream(hub, "hall", gone, current_app.config["CLOCK"]), lambda: slots.give_back(client)),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@status.get("/devices")
def devices_page() -> str:
    """The fleet at a glance for the technician: the same report as /api/devices, kept fresh."""
    if current_app.config["DEVICES"] is None:
        abort(404)
    return render_template("devices.html", center=current_app.config["CENTER"])


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
    now = current_app.config["CLOCK"]()
    return read(lambda state: ticket_view(state, day, ticket, now)) if read else None


def _stream(hub: ViewHub, name: str, gone: Callable[[], bool] = lambda: False,
            clock: Callable[[], float] = time.time) -> Iterator[str]:  # fmt: skip
    """The stream; it ends within GONE_CHECK_S of the client leaving (`gone`, waitress's own
    check), so its thread and its slot are free again at once, not at the next heartbeat. Each
    view and heartbeat carries the center's clock (`now`, epoch ms, and `clock_rate`: the demo's
    simulated day runs faster), which the hall shows instead of the TV's."""
    rate = getattr(clock, "factor", 1.0)

    def beat() -> dict:
        return {"now": round(clock() * 1000), "clock_rate": rate}

    version, view = hub.latest(name)
    yield "retry: 1000\n\n"
    if view is not None:
        yield _event(version, {**view, **beat()})
    quiet = 0.0
    while not hub.closed and not gone():
        got = hub.wait(name, version, GONE_CHECK_S)
        if got is None:
            quiet += GONE_CHECK_S
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield f"event: ping\ndata: {json.dumps(beat())}\n\n"
            continue
        quiet = 0.0
        version, view = got
        yield _event(version, {**view, **beat()})


def _event(version: int, view: object) -> str:
    return f"id: {version}\ndata: {json.dumps(view, ensure_ascii=False)}\n\n"


class WebServer:
    """The pages on threads of the gateway's process, served by waitress (docs/gateway.md, The web
    server): its I/O loop reads each request whole before a thread sees it, so a slow or idle socket
    holds no thread; THREADS threads run the app; idle connections close after `idle_s`; it keeps
    reading a connection while its request runs (`channel_request_lookahead`), so a hall stream
    learns at once that its client left. In a center
    it listens on 127.0.0.1 behind nginx, which holds the LAN's sockets and speaks TLS; the proxy's
    X-Forwarded-For/-Proto are believed from 127.0.0.1 only."""

    def __init__(self, app: Flask, host: str, port: int, threads: int = THREADS, idle_s: int = 60):
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a full pool is the limit working
        self.server = waitress.create_server(
            app, host=host, port=port, threads=threads, connection_limit=1000, channel_timeout=idle_s,
            cleanup_interval=min(10, idle_s), asyncore_use_poll=True, max_request_header_size=16384,
            max_request_body_size=1 << 20, trusted_proxy="127.0.0.1", channel_request_lookahead=1,
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"}, clear_untrusted_proxy_headers=True,
            ident="hangcho", expose_tracebacks=False,
        )  # fmt: skip
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name="hangcho-web", daemon=True)

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        wasyncore.close_all(self.server._map)  # every connection and the listener: the loop then ends
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown(timeout=2)
