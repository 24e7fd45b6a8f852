"""The monthly report's routes: the page, its JSON, the workbook and the PDF (server/monthly.py).

Each takes `month=YYYY-MM` (absent: the last complete month) and any of `center=ID`,
`commune=CODE`, `province=CODE` (absent: every center the user may see; several: the centers
that are in all, named by the narrowest); the user's scope is
reports.visible_centers, so a center, commune or province outside it answers 404, as one that
does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, g, jsonify, redirect, render_template, request

from contracts.ids import CENTER_ID

from . import audit, hierarchy, monthly, monthly_files, reports
from .auth import engine, login_required
from .dashboard import ZONE, settings
from .i18n import text

bp = Blueprint("monthly", __name__)
CODE = re.compile(r"[0-9]{1,6}")
SCOPES = ("center", "commune", "province")


def _month() -> monthly.Month:
    given = request.args.get("month")
    if given is None or (given == "" and not request.path.startswith("/api/")):
        return monthly.last_complete(datetime.now(ZONE).date())
    try:
        return monthly.parse_month(given)
    except ValueError as e:
        abort(400, description=str(e))


def _scope() -> tuple[str | None, str | None, dict[str, Any]]:
    """The narrowest of center, commune, province given (kind, value) and every one given, as
    monthly.scoped takes them: they combine (a center outside the commune given is none). An empty
    one is not given on a page (a form's first choice) and refused in the JSON API."""
    if request.path.startswith("/api/") and any(request.args.get(k) == "" for k in SCOPES):
        abort(400, description="center, commune, province: when given, not empty")
    filters: dict[str, Any] = {}
    for kind in SCOPES:
        value = request.args.get(kind)
        if not value:
            continue
        if kind == "center" and not CENTER_ID.fullmatch(value):
            abort(404)  # as a center that does not exist
        if kind != "center" and not CODE.fullmatch(value):
            abort(400, description=f"{kind} must be an official code, digits (e.g. 27427; 79), got {value[:20]!r}")
        filters[kind] = value if kind == "center" else int(value)
    kind = next(iter(filters), None)  # SCOPES is narrowest first
    return kind, None if kind is None else str(filters[kind]), filters


def _scope_name(kind: str | None, value: str | None, rows: list[dict]) -> str:
    if kind == "center":
        return rows[0]["name"]
    if kind == "commune":
        found = hierarchy.communes().get(int(value))
        return str(found) if found else value
    if kind == "province":
        return hierarchy.provinces().get(int(value), value)
    return settings().province or text("scope_all")


def _build() -> tuple[dict[str, Any], list[dict], str]:
    """The report for the request (400 on a bad month or scope, 404 outside the user's scope),
    the user's visible centers (the page's choices) and the scope's name."""
    month = _month()
    kind, value, filters = _scope()
    with engine().connect() as conn:
        visible = reports.visible_centers(conn, g.user)
        rows = monthly.scoped(visible, **filters)
        if kind and not rows:
            abort(404, description=f"no such {kind} among the centers you may see")  # the same for one unknown
        body = monthly.report(conn, rows, month, settings(), text("no_province"))
    body |= {"scope": {"kind": kind or "all", "value": value, "name": _scope_name(kind, value, rows)},
             "label": month.label, "previous_label": month.previous().label}  # fmt: skip
    return body, visible, body["scope"]["name"]


def _title(body: dict) -> str:
    return f"{text('monthly')} {body['label']} · {body['scope']['name']}"


def _choices(visible: list[dict]) -> list[tuple[str, str]]:
    """The page's scope list: everything, then each province, commune and center the user sees."""
    out, seen = [("", text("scope_all"))], set()
    for c in sorted(visible, key=lambda c: (c.get("province_code") or 0, c.get("commune_code") or 0)):
        for kind, code in (("province", c.get("province_code")), ("commune", c.get("commune_code"))):
            if code and (kind, code) not in seen:
                seen.add((kind, code))
                name = hierarchy.provinces().get(code) if kind == "province" else hierarchy.communes()[code].name
                out.append((f"{kind}={code}", f"{text('province' if kind == 'province' else 'ward')}: {name}"))
    return out + [(f"center={c['id']}", f"{text('center')}: {c['name']}") for c in visible]


@bp.get("/reports/monthly")
@login_required
def page():
    _month(), _scope()  # refused as the report would refuse them, before any redirect
    if "scope" in request.args:  # the form's one list: to the report's own address
        kind, equals, value = request.args["scope"].partition("=")
        if request.args["scope"] and (kind not in SCOPES or not equals):
            abort(400, description="scope must be center=ID, commune=CODE or province=CODE")
        query = {"month": request.args.get("month", "")} | ({kind: value} if value else {})
        return redirect("/reports/monthly?" + urlencode({k: v for k, v in query.items() if v}))
    body, visible, _ = _build()
    kind, value = body["scope"]["kind"], body["scope"]["value"]
    here = f"month={body['month']}" + (f"&{kind}={value}" if value else "")
    return render_template("monthly.html", r=body, title=_title(body), choices=_choices(visible),
                           chosen=f"{kind}={value}" if value else "", here=here,
                           indicators=list(monthly.INDICATORS), words=monthly_files)  # fmt: skip


@bp.get("/api/v1/reports/monthly")
@login_required
def as_json():
    body, _, _ = _build()
    return jsonify(body)


def _file(body: dict, data: bytes, kind: str, mimetype: str) -> Response:
    with engine().begin() as conn:
        audit.record(conn, "exported", g.user.username, request.remote_addr,
                     target=f"monthly {kind} {body['month']} {body['scope']['kind']} {body['scope']['value'] or ''}",
                     detail=f"{len(body['centers'])} centers")  # fmt: skip
    scope = body["scope"]
    name = f"hangcho-bao-cao-thang-{body['month']}" + (f"-{scope['kind']}-{scope['value']}" if scope["value"] else "")
    name += f".{kind}"  # ASCII: a center id or a code, never a name
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/monthly.xlsx")
@login_required
def as_xlsx():
    body, _, _ = _build()
    data = monthly_files.xlsx(body, _title(body))
    return _file(body, data, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/reports/monthly.pdf")
@login_required
def as_pdf():
    body, _, scope = _build()
    generated = datetime.now(ZONE).strftime("%d/%m/%Y %H:%M")
    return _file(body, monthly_files.pdf(body, _title(body), scope, generated), "pdf", "application/pdf")
