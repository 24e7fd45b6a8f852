"""Logging in and out, the session's user, and CSRF protection for every form.

The session is Flask's signed cookie holding the user id, a CSRF token and the language.
Every POST must carry the session's CSRF token (form field `csrf` or header `X-CSRF-Token`).
Five failed logins for one user name within 15 minutes lock that name until the oldest of them
is 15 minutes old (counted in the database, so every gunicorn worker sees the same count).
"""

from __future__ import annotations

import hmac
import secrets
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from .accounts import authenticate, clear_failures, failures_since, record_failure, user_by_id
from .i18n import text

bp = Blueprint("auth", __name__)
MAX_FAILURES, WINDOW_S = 5, 15 * 60


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
    user_id = session.get("user_id")
    if user_id is not None:
        with engine().connect() as conn:
            g.user = user_by_id(conn, user_id)
    if request.method == "POST":
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


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username, password = request.form.get("username", "").strip(), request.form.get("password", "")
        now = time.time()
        with engine().begin() as conn:
            clear_failures(conn, username, before=now - WINDOW_S)
            locked = failures_since(conn, username, now - WINDOW_S) >= MAX_FAILURES
            user = None if locked else authenticate(conn, username, password)
            if user is None and not locked:
                record_failure(conn, username, now)
            elif user is not None:
                clear_failures(conn, username)
        if user is None:
            error = text("login_locked" if locked else "login_failed")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session (and CSRF token) for the logged-in user
            session.update(user_id=user.id, lang=lang or "vi")
            return redirect(same_site(request.args.get("next")))
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    session.clear()
    session["lang"] = lang or "vi"
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(same_site(request.args.get("next")))
