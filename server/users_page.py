"""/users: national, province and commune users manage the users of their scope.

Each sees the users whose scope lies within its own (server/scopes.py users_clause), adds one at
its own level or below and within its scope, disables or enables one, or gives one a new password;
disabling and a new password end that user's sessions on every node, as the CLI does. Every change
is one line of the audit log, in the change's transaction. A user outside the scope, or above the
actor's level, is answered as one that does not exist (404); for center staff the page itself
does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request
from sqlalchemy import select

from . import accounts, audit, hierarchy, reports, scopes, web_sessions
from .auth import engine, login_required
from .i18n import text
from .schema import centers, users

bp = Blueprint("users", __name__)


def _manager() -> None:
    if not g.user.manages:
        abort(404)


def _listed(conn, username: str | None = None) -> list[dict]:
    """The users within g.user's scope (one, by name), each with its scope's name for the page."""
    query = (
        select(users.c.username, users.c.role, users.c.disabled, users.c.center_id, users.c.province_code,
               users.c.commune_code, centers.c.name.label("center_name"))
        .select_from(users.outerjoin(centers, users.c.center_id == centers.c.id))
        .where(scopes.users_clause(g.user))
        .order_by(users.c.username)
    )  # fmt: skip
    if username is not None:
        query = query.where(users.c.username == username)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["role"] = scopes.role_of(r["role"])
        r["scope"] = _scope_name(r)
        r["manageable"] = scopes.may_grant(g.user, r["role"])
    return rows


def _scope_name(r: dict) -> str:
    if r["role"] == "province" and r["province_code"] in hierarchy.provinces():
        return hierarchy.provinces()[r["province_code"]]
    if r["role"] == "commune" and r["commune_code"] in hierarchy.communes():
        c = hierarchy.communes()[r["commune_code"]]
        return f"{c.name}, {c.province}"
    if r["role"] == "staff":
        return f"{r['center_name'] or ''} ({r['center_id']})"
    return text("nation")


def _target(conn, username: str) -> dict:
    """A user g.user may change; 404 for any other (outside the scope, above its level, or none)."""
    found = _listed(conn, username)
    if not found or not found[0]["manageable"]:
        abort(404)
    return found[0]


def _page(error: str | None = None, form: dict | None = None, status: int = 200):
    with engine().connect() as conn:
        rows = _listed(conn)
        choices = reports.visible_centers(conn, g.user)
    provinces = hierarchy.provinces()
    if g.user.role != "national":
        provinces = {c: n for c, n in provinces.items() if c == g.user.province_code}
    page = render_template("users.html", rows=rows, roles=scopes.grantable(g.user), provinces=provinces,
                           centers=choices, error=error, form=form or {})  # fmt: skip
    return page, status


@bp.get("/users")
@login_required
def users_page():
    _manager()
    return _page()


@bp.post("/users")
@login_required
def add_user():
    _manager()
    form = {k: request.form.get(k, "").strip() for k in ("username", "role", "province", "commune", "center")}
    form["username"] = form["username"].replace("\x00", "")
    password = request.form.get("password", "")
    try:
        with engine().begin() as conn:
            place = accounts.add_user(conn, form["username"], password, form["role"], form["center"] or None,
                                      form["province"] or None, form["commune"] or None, by=g.user)  # fmt: skip
            detail = ", ".join(f"{k} {v}" for k, v in place.items())
            audit.record(conn, "user_added", g.user.username, request.remote_addr, target=form["username"],
                         detail=f"role {scopes.role_of(form['role'])}" + (f", {detail}" if detail else ""))  # fmt: skip
    except accounts.AccountError as e:
        return _page(str(e), form, 400)
    flash(text("done_user_added").format(user=form["username"]))
    return redirect("/users")


def _change(username: str, action: str, change) -> int:
    """Apply `change(conn, user_id)` to a user g.user may change, log it, end sessions when asked."""
    with engine().begin() as conn:
        _target(conn, username)
        ended = change(conn)
        audit.record(conn, action, g.user.username, request.remote_addr, target=username,
                     detail="" if ended is None else f"{ended} sessions ended")  # fmt: skip
    return ended or 0


@bp.post("/users/<username>/disable")
@login_required
def disable(username: str):
    _manager()
    if username == g.user.username:
        abort(400, description="you cannot disable yourself")
    ended = _change(username, "user_disabled",
                    lambda conn: web_sessions.end_all(conn, accounts.set_disabled(conn, username, True)))  # fmt: skip
    flash(text("done_user_disabled").format(user=username, sessions=ended))
    return redirect("/users")


@bp.post("/users/<username>/enable")
@login_required
def enable(username: str):
    _manager()
    _change(username, "user_enabled", lambda conn: accounts.set_disabled(conn, username, False) and None)
    flash(text("done_user_enabled").format(user=username))
    return redirect("/users")


@bp.post("/users/<username>/password")
@login_required
def set_password(username: str):
    _manager()
    password = request.form.get("password", "")

    def change(conn) -> int:
        return web_sessions.end_all(conn, accounts.set_password(conn, username, password))

    try:
        ended = _change(username, "password_set", change)
    except accounts.AccountError as e:
        return _page(str(e), None, 400)
    flash(text("done_password_set").format(user=username, sessions=ended))
    return redirect("/users")
