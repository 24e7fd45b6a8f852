"""Logging in and out, the session's user, and CSRF protection for every form.

The session is Flask's signed cookie holding a random session id (server/web_sessions.py: the
session itself lives in the database), a CSRF token and the language. Every POST must carry
the session's CSRF token (form field `csrf` or header `X-CSRF-Token`). Failed logins slow
further tries by name, address and device (server/throttle.py); a successful login leaves a
signed device cookie that keeps this browser out of the name's slowdown.
"""

from __future__ import annotations

import hmac
import secrets
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import audit, throttle, web_sessions
from .accounts import authenticate
from .i18n import LANGUAGES, text

bp = Blueprint("auth", __name__)
DEVICE_COOKIE, DEVICE_MAX_AGE_S = "hangcho_device", 365 * 86400


def engine():
    return current_app.extensions["hangcho.engine"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(sent, session.get("csrf", "")) or not sent:
        abort(400, description="csrf")


def load_user() -> None:
    g.user = None
    if request.blueprint == "sync":  # gateways: a token, no session, no CSRF
        return
    sid = session.get("sid")
    if sid is not None:
        with engine().begin() as conn:
            g.user = web_sessions.find(conn, sid, time.time())
        if g.user is None:
            session.pop("sid", None)  # ended, expired, or its user disabled: logged out
    if request.method == "POST" and request.routing_exception is None:  # a POST no route takes is a 404/405
        check_csrf()


def same_site(target: str | None) -> str:
    """`target` if it is a path on this site, else "/": never a scheme, a host, `//`, a
    backslash or a control character or space anywhere (a browser drops a tab, so `/\t/evil`
    would have led to //evil)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c <= " " or c in "\\\x7f" for c in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hangcho-device")


def _device(username: str) -> str | None:
    """This browser's device id, if it logged in as `username` before (a signed cookie)."""
    try:
        name, device = _devices().loads(request.cookies.get(DEVICE_COOKIE, ""), max_age=DEVICE_MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        return None
    return device if name == username else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", error=None)
    # No user name holds a NUL or passes 64 characters; PostgreSQL's text cannot hold a NUL at all,
    # and the name goes into the throttle's and the audit log's rows.
    username = request.form.get("username", "").replace("\x00", "").strip()[:64]
    password = request.form.get("password", "")
    now, device = time.time(), _device(username)
    tried = throttle.keys(username, request.remote_addr, device)
    user = sid = None
    with engine().begin() as conn:
        wait = throttle.wait_s(conn, tried, now)
        if not wait:
            user = authenticate(conn, username, password)
            if user is None:
                throttle.failed(conn, tried, now)
                audit.record(conn, "login_failed", username or "?", request.remote_addr, now=now,
                             detail="known browser" if device else "")  # fmt: skip
            else:
                throttle.succeeded(conn, tried)
                sid = web_sessions.start(conn, user, request.remote_addr, now)
                audit.record(conn, "login", user.username, request.remote_addr, now=now)
    if wait:
        seconds = max(1, round(wait))
        page = render_template("login.html", error=text("login_wait").format(seconds=seconds))
        return page, 429, {"Retry-After": str(seconds)}
    if user is None:
        return render_template("login.html", error=text("login_failed")), 401
    lang = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    session.update(sid=sid, lang=lang or "vi")
    session.permanent = True  # the cookie ends with the session's absolute expiry
    response = make_response(redirect(same_site(request.args.get("next"))))
    device = device or secrets.token_urlsafe(12)
    response.set_cookie(DEVICE_COOKIE, _devices().dumps([username, device]), max_age=DEVICE_MAX_AGE_S,
                        httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])  # fmt: skip
    return response


@bp.post("/logout")
def logout():
    lang, sid = session.get("lang"), session.get("sid")
    if sid:
        with engine().begin() as conn:
            web_sessions.end(conn, sid)
            if g.user is not None:
                audit.record(conn, "logout", g.user.username, request.remote_addr)
    session.clear()
    session["lang"] = lang or "vi"
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    return redirect(same_site(request.args.get("next")))
