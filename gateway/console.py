"""The staff console in the browser: a counter's keypad for when the keypad breaks.

Staff sign in with their counter's PIN (`counters[].pin`); the console then
sends exactly the keypad's actions (contracts.events.ACTIONS) through the service's
worker, so they are journaled, displayed and announced like a key press.
Every click carries a fresh request id that becomes the command's idempotency
key: a double click, or a retry after a timeout, acts once. Forms and calls
carry a CSRF token bound to the session. The sign-in lives on the gateway
(gateway/sessions.py): logout, or a PIN change and a restart, ends it.

Wrong PINs slow down the machine they come from, never the counter: after
FREE_TRIES wrong PINs an address waits 1 s, then 2, 4, … up to MAX_DELAY_S before it
may try again, and is forgotten after FORGET_S without a wrong PIN. The clerk at
the right PIN on another machine is never held; on the same machine, at most
MAX_DELAY_S after the last wrong PIN. Nobody else on the center's network can call numbers.
"""

from __future__ import annotations

import hmac
import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from . import console_keys as keys
from . import protocol as p
from .dispatch import DispatchError
from .journal import JournalError
from .sessions import Session, SessionStore

console = Blueprint("console", __name__, url_prefix="/console")
COOKIE = "hangcho_console"
FREE_TRIES = 3
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0
FORGET_S = 900.0
MAX_CLIENTS = 4096  # addresses remembered at once: a flood of made-up addresses cannot grow the table
_REQUEST_ID = re.compile(r"[0-9a-f]{16,32}")


class PinThrottle:
    """Wrong PINs per client address, and how long that address waits before its next try."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address → (wrong PINs, last one)

    def wait_s(self, client: str) -> float:
        """Seconds before `client` may try a PIN again (0: now)."""
        with self._lock:
            failures, last = self._clients.get(client, (0, 0.0))
            now = self.clock()
            if failures and now - last > FORGET_S:
                del self._clients[client]
                return 0.0
            return max(0.0, last + delay_after(failures) - now)

    def failed(self, client: str) -> None:
        with self._lock:
            failures, _ = self._clients.pop(client, (0, 0.0))
            self._clients[client] = (failures + 1, self.clock())
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


def delay_after(failures: int) -> float:
    """The wait after `failures` wrong PINs in a row: none for the first FREE_TRIES, then doubling."""
    if failures <= FREE_TRIES:
        return 0.0
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - FREE_TRIES - 1))


def _counters() -> dict[int, Any]:
    return {c.number: c for c in current_app.config["CENTER"].counters}


def _store() -> SessionStore:
    return current_app.config["SESSIONS"]


def _session() -> Session | None:
    session = _store().get(request.cookies.get(COOKIE))
    return session if session is not None and session.counter in _counters() else None


@console.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # a shared PC's cache keeps no console page
    return response


@console.get("")
def page():
    session = _session()
    if session is None:
        return render_template("console_login.html", error=None, counters=_with_pin())
    center = current_app.config["CENTER"]
    return render_template("console.html", counter=_counters()[session.counter], csrf=session.csrf,
                           services=center.services, agencies=center.agencies, keys=keys.KEYS)  # fmt: skip


def _with_pin() -> list:
    return [c for c in _counters().values() if c.pin]


@console.post("/login")
def login():
    throttle: PinThrottle = current_app.config["PIN_THROTTLE"]
    client = request.remote_addr or "?"
    try:
        number = int(request.form.get("counter", ""))
    except ValueError:
        number = -1
    counter = _counters().get(number)
    wait = throttle.wait_s(client)
    if wait > 0:  # refused without looking at the PIN: a guesser gets no answer while it waits
        seconds = math.ceil(wait)
        error = f"Nhập sai mã PIN nhiều lần từ máy này: thử lại sau {seconds} giây."
        page = render_template("console_login.html", error=error, counters=_with_pin())
        return page, 429, {"Retry-After": str(seconds)}
    error = None
    if counter is None or not counter.pin:
        error = "Quầy này không dùng được bảng điều khiển (chưa đặt mã PIN)."
    elif not hmac.compare_digest(request.form.get("pin", "").encode(), counter.pin.encode()):
        throttle.failed(client)
        error = "Mã PIN không đúng."
    if error:
        return render_template("console_login.html", error=error, counters=_with_pin()), 403
    throttle.succeeded(client)
    _store().close(request.cookies.get(COOKIE))
    token, _ = _store().open(number)
    response = redirect(url_for("console.page"))
    response.set_cookie(COOKIE, token, path="/console", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@console.post("/logout")
def logout():
    session = _session()
    response = redirect(url_for("console.page"))
    if session is not None and _csrf_ok(session):
        _store().close(request.cookies.get(COOKIE))
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@console.get("/state")
def state():
    session = _session()
    if session is None:
        return jsonify({"error": "signed_out"}), 401
    counter = session.counter
    read, clock = current_app.config["READ"], current_app.config["CLOCK"]

    def view(st) -> dict:
        c = st.counters[counter]
        ticket = st.tickets[c.current] if c.current else None
        return {
            "counter": counter,
            "status": c.status,
            "ticket": c.current,
            "ticket_state": ticket.state if ticket else None,
            "heading": keys.current_heading(ticket.state if ticket else None),
            "service": st.services[ticket.service].name if ticket else None,
            "service_code": ticket.service if ticket else None,
            "waiting": {code: q.waiting for code, q in st.queues.items()},
            "keys": keys.reasons(st, counter, clock()),
        }

    return jsonify(read(view))


@console.post("/action")
def action():
    session = _session()
    if session is None:
        return jsonify({"ok": False, "error": "signed_out", "message": "Hết phiên, vui lòng đăng nhập lại."}), 401
    counter = session.counter
    if not _csrf_ok(session):
        return jsonify({"ok": False, "error": "csrf", "message": "Phiên không hợp lệ, tải lại trang."}), 400
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes
        body = []
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return jsonify({"ok": False, "error": "malformed", "message": "Yêu cầu phải là một đối tượng JSON."}), 400
    request_id = body.pop("request_id", None)
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        return jsonify({"ok": False, "error": "malformed", "message": "Thiếu mã yêu cầu (request_id)."}), 400
    event_id = f"console-{counter}:{request_id}"
    center = current_app.config["CENTER"]
    if body.get("outcome") == "forwarded" and body.get("forwarded_to") not in center.agencies:
        message = "Chọn cơ quan nhận hồ sơ trong danh sách của trung tâm."
        return jsonify({"ok": False, "error": "malformed", "message": message}), 400
    try:
        command = p.key_command(counter, {**body, "kind": "key"}, event_id)
    except p.ProtocolError as e:
        return jsonify(p.refusal(event_id, e)), 400
    try:
        outcome = current_app.config["SUBMIT"](command)
    except TimeoutError:
        return jsonify({"ok": False, "error": "timeout", "message": "Máy chủ bận, thử lại."}), 503
    except JournalError:  # e.g. the disk is full: nothing was recorded, the staff may try again
        message = "Máy chủ không lưu được thao tác (ổ đĩa đầy?), thử lại sau."
        return jsonify({"ok": False, "error": "journal", "message": message}), 503
    if isinstance(outcome, DispatchError):
        return jsonify(p.ack(event_id, outcome)), 409
    answer = p.ack(event_id, outcome)
    names = {s.code: s.name for s in center.services}
    said = keys.confirmation(keys.key_for(body), counter, answer.get("ticket"), body, names)
    return jsonify({**answer, "message": said})


def _csrf_ok(session: Session) -> bool:
    token = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
    return hmac.compare_digest(token.encode(), session.csrf.encode())
