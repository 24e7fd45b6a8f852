"""The staff console in the browser: a counter's keypad for when the keypad breaks.

Staff sign in with their counter's PIN (`counters[].pin`); the console then
sends exactly the keypad's actions (contracts.events.ACTIONS) through the service's
worker, so they are journaled, displayed and announced like a key press.
Every click carries a fresh request id that becomes the command's idempotency
key: a double click, or a retry after a timeout, acts once. Forms and calls
carry a CSRF token bound to the session. Five wrong PINs lock a counter's
sign-in for five minutes. Nobody else on the center's network can call numbers.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for

from . import protocol as p
from .dispatch import DispatchError
from .journal import JournalError

console = Blueprint("console", __name__, url_prefix="/console")
MAX_FAILURES = 5
LOCKOUT_S = 300.0
_REQUEST_ID = re.compile(r"[0-9a-f]{16,32}")


class PinGuard:
    """Counts wrong PINs per counter and locks its sign-in for a while after too many."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[int, list[float]] = {}

    def locked(self, counter: int) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(counter, []) if self.clock() - t < LOCKOUT_S]
            self._failures[counter] = recent
            return len(recent) >= MAX_FAILURES

    def failed(self, counter: int) -> None:
        with self._lock:
            self._failures.setdefault(counter, []).append(self.clock())

    def succeeded(self, counter: int) -> None:
        with self._lock:
            self._failures.pop(counter, None)


def _counters() -> dict[int, Any]:
    return {c.number: c for c in current_app.config["CENTER"].counters}


@console.get("")
def page():
    counter = session.get("counter")
    if counter not in _counters():
        return render_template("console_login.html", error=None, counters=_with_pin())
    return render_template("console.html", counter=_counters()[counter], csrf=session["csrf"],
                           services=current_app.config["CENTER"].services)  # fmt: skip


def _with_pin() -> list:
    return [c for c in _counters().values() if c.pin]


@console.post("/login")
def login():
    guard: PinGuard = current_app.config["PIN_GUARD"]
    try:
        number = int(request.form.get("counter", ""))
    except ValueError:
        number = -1
    counter = _counters().get(number)
    error = None
    if counter is None or not counter.pin:
        error = "Quầy này không dùng được bảng điều khiển (chưa đặt mã PIN)."
    elif guard.locked(number):
        error = "Nhập sai mã PIN quá nhiều lần: quầy tạm khóa 5 phút."
    elif not hmac.compare_digest(request.form.get("pin", "").encode(), counter.pin.encode()):
        guard.failed(number)
        error = "Mã PIN không đúng."
    if error:
        return render_template("console_login.html", error=error, counters=_with_pin()), 403
    guard.succeeded(number)
    session.clear()
    session["counter"], session["csrf"] = number, secrets.token_urlsafe(24)
    return redirect(url_for("console.page"))


@console.post("/logout")
def logout():
    if _csrf_ok():
        session.clear()
    return redirect(url_for("console.page"))


@console.get("/state")
def state():
    counter = session.get("counter")
    if counter not in _counters():
        return jsonify({"error": "signed_out"}), 401
    read = current_app.config["READ"]

    def view(st) -> dict:
        c = st.counters[counter]
        return {
            "counter": counter,
            "status": c.status,
            "ticket": c.current,
            "ticket_state": st.tickets[c.current].state if c.current else None,
            "waiting": {code: q.waiting for code, q in st.queues.items()},
        }

    return jsonify(read(view))


@console.post("/action")
def action():
    counter = session.get("counter")
    if counter not in _counters():
        return jsonify({"ok": False, "error": "signed_out", "message": "Hết phiên, vui lòng đăng nhập lại."}), 401
    if not _csrf_ok():
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
    status = 200 if not isinstance(outcome, DispatchError) else 409
    return jsonify(p.ack(event_id, outcome)), status


def _csrf_ok() -> bool:
    token = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())
