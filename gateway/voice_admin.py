"""The voice recording page (/voice): the center admin records the hall's calls clip by clip.

The admin signs in with `center.admin_pin`; wrong PINs slow down their machine with the
console's throttle (gateway/console.py PinThrottle: the same table, so guesses here and at the
console add up), and the sign-in is a row of the console's session store (gateway/sessions.py)
under ADMIN, a number no counter has: logout or a PIN change and a restart end it. The page
lists every clip of gateway/voice_clips.CLIPS with its text and where it comes from now,
records one with the browser's microphone (encoded to 16-bit WAV in the browser), plays it
back and sends it; the gateway checks it hard (gateway/voice_pack.prepare_recording), writes
it atomically into the center's own folder and uses it from the next call on. Every POST
carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
import math
import re

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from .console import PinThrottle
from .sessions import Session, SessionStore
from .voice_clips import CLIPS
from .voice_dsp import ClipError, encode_wav
from .voice_pack import MAX_UPLOAD_BYTES, UPLOAD_S, Voice

voice_admin = Blueprint("voice_admin", __name__, url_prefix="/voice")
ADMIN = 0  # the admin's sign-in in the session store: counters are numbered from 1
COOKIE = "hangcho_voice"
_TICKET = re.compile(r"[A-Z]\d{1,4}")


def _voice() -> Voice:
    return current_app.config["VOICE"]


def _pin() -> str | None:
    return current_app.config["CENTER"].admin_pin


def _session() -> Session | None:
    store: SessionStore = current_app.config["SESSIONS"]
    session = store.get(request.cookies.get(COOKIE))
    return session if session is not None and session.counter == ADMIN else None


def _csrf_ok(session: Session) -> bool:
    token = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
    return hmac.compare_digest(token.encode(), session.csrf.encode())


@voice_admin.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@voice_admin.get("")
def page():
    session = _session()
    if session is None:
        return render_template("voice_login.html", error=None, closed=not _pin())
    return render_template("voice.html", csrf=session.csrf, clips=_voice().status(), name=_voice().name,
                           max_s=UPLOAD_S[1], center=current_app.config["CENTER"])  # fmt: skip


@voice_admin.post("/login")
def login():
    throttle: PinThrottle = current_app.config["PIN_THROTTLE"]
    client = request.remote_addr or "?"
    wait = throttle.wait_s(client)
    if wait > 0:  # as the console: no answer about the PIN while the machine waits
        seconds = math.ceil(wait)
        error = f"Nhập sai mã PIN nhiều lần từ máy này: thử lại sau {seconds} giây."
        return render_template("voice_login.html", error=error, closed=False), 429, {"Retry-After": str(seconds)}
    if not _pin():
        return render_template("voice_login.html", error=None, closed=True), 403
    if not hmac.compare_digest(request.form.get("pin", "").encode(), _pin().encode()):
        throttle.failed(client)
        return render_template("voice_login.html", error="Mã PIN không đúng.", closed=False), 403
    throttle.succeeded(client)
    store: SessionStore = current_app.config["SESSIONS"]
    store.close(request.cookies.get(COOKIE))
    token, _ = store.open(ADMIN)
    response = redirect(url_for("voice_admin.page"))
    response.set_cookie(COOKIE, token, path="/voice", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@voice_admin.post("/logout")
def logout():
    """Ends the sign-in for good (its row is deleted), with the session's CSRF token only."""
    session, response = _session(), redirect(url_for("voice_admin.page"))
    if session is None or not _csrf_ok(session):
        return response
    current_app.config["SESSIONS"].close(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/voice", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@voice_admin.get("/clips")
def clips():
    if _session() is None:
        return jsonify({"error": "signed_out"}), 401
    return jsonify(_voice().status())


@voice_admin.get("/clip/<key>.wav")
def clip(key: str):
    """The clip as calls use it now (levelled), to listen to."""
    if _session() is None:
        return jsonify({"error": "signed_out"}), 401
    voice = _voice()
    if key not in CLIPS:
        return jsonify({"error": "unknown_clip"}), 404
    return Response(encode_wav(voice.rate, voice.clips[key]), mimetype="audio/wav")


@voice_admin.get("/call.wav")
def call():
    """A whole call as the hall will hear it, e.g. /voice/call.wav?ticket=A023&counter=5."""
    if _session() is None:
        return jsonify({"error": "signed_out"}), 401
    ticket, counter = request.args.get("ticket", "A023"), request.args.get("counter", "5")
    if not _TICKET.fullmatch(ticket) or not counter.isdigit() or not 1 <= int(counter) <= 999:
        return jsonify({"error": "malformed", "message": "Cần số vé như A023 và quầy 1–999."}), 400
    return Response(_voice().call_wav(ticket, int(counter)), mimetype="audio/wav")


@voice_admin.post("/clip/<key>")
def upload(key: str):
    session = _session()
    if session is None:
        return jsonify({"ok": False, "error": "signed_out", "message": "Hết phiên, vui lòng đăng nhập lại."}), 401
    if not _csrf_ok(session):
        return jsonify({"ok": False, "error": "csrf", "message": "Phiên không hợp lệ, tải lại trang."}), 400
    if key not in CLIPS:
        return jsonify({"ok": False, "error": "unknown_clip", "message": f"Không có đoạn {key!r}."}), 404
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        message = f"Bản ghi quá lớn (tối đa {MAX_UPLOAD_BYTES >> 20} MiB)."
        return jsonify({"ok": False, "error": "too_large", "message": message}), 413
    try:
        _voice().record(key, request.get_data(cache=False))
    except ClipError as e:
        return jsonify({"ok": False, "error": "bad_recording", "message": f"Không nhận bản ghi: {e}."}), 400
    return jsonify({"ok": True, "key": key, "source": "center", "message": f"Đã lưu “{CLIPS[key]}”."})
