"""The province dashboard: pages (rendered in the browser from the JSON below) and exports."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from contracts.ids import CENTER_ID
from contracts.sync import is_day

from . import audit, reports, scopes
from .auth import engine, login_required
from .i18n import text
from .schema import centers

bp = Blueprint("dashboard", __name__)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_DAYS = 366


def settings():
    return current_app.extensions["hangcho.settings"]


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


def date_range() -> tuple[str, str]:
    """`from` and `to` (YYYY-MM-DD) from the query: one given, the other defaults to it; neither,
    today. 400 when malformed (and, in the JSON API, when given empty; a page's form with an empty
    box means the default)."""
    given_from, given_to = request.args.get("from"), request.args.get("to")
    if request.path.startswith("/api/") and "" in (given_from, given_to):
        abort(400, description="from/to, when given, must be dates YYYY-MM-DD, not empty")  # a form's empty box: today
    day_from = given_from or given_to or today()
    day_to = given_to or day_from
    if not (is_day(day_from) and is_day(day_to)):
        abort(400, description="from/to must be dates YYYY-MM-DD")
    first, last = date.fromisoformat(day_from), date.fromisoformat(day_to)
    if last < first or (last - first).days > MAX_DAYS:
        abort(400, description=f"to must be on or after from, at most {MAX_DAYS} days later")
    return first.isoformat(), last.isoformat()


def visible_center(center_id: str) -> dict:
    if not CENTER_ID.fullmatch(center_id):
        abort(404)  # not an id any center can have (and a NUL PostgreSQL cannot compare)
    with engine().connect() as conn:
        query = select(centers).where(centers.c.id == center_id, scopes.centers_clause(g.user))
        row = conn.execute(query).mappings().first()
    if row is None:
        abort(404)  # the same answer for one out of scope: it must not tell which center ids exist
    return dict(row)


def focus() -> scopes.Focus:
    """The part of the user's scope the query asks for (?province=CODE, ?commune=CODE), the whole
    scope without; 404 for one outside it, as for one that does not exist."""
    found = scopes.narrowed(g.user, request.args.get("province"), request.args.get("commune"))
    if found is None:
        abort(404)
    return found


@bp.get("/")
@login_required
def overview_page():
    shown = focus()
    if shown.level == "center":  # staff: its center's name above the figures
        shown = scopes.Focus("center", shown.code, visible_center(shown.code)["name"])
    up = None  # the way back up the hierarchy, for a user whose scope is wider than the focus
    own = scopes.own(g.user)
    if (shown.level, shown.code) != (own.level, own.code):
        up = f"?province={shown.province_code}" if shown.level == "commune" and g.user.role == "national" else ""
    return render_template("overview.html", interval=settings().sync_interval_s, focus=shown, up=up,
                           total_word=text(scopes.total_word(shown)))  # fmt: skip


@bp.get("/api/v1/overview")
@login_required
def overview_json():
    day_from, day_to = date_range()
    with engine().connect() as conn:
        return jsonify(reports.overview(conn, g.user, day_from, day_to, time.time(), settings(), focus()))


@bp.get("/centers/<center_id>")
@login_required
def center_page(center_id: str):
    return render_template("center.html", center=visible_center(center_id), interval=settings().sync_interval_s)


@bp.get("/api/v1/centers/<center_id>")
@login_required
def center_json(center_id: str):
    center = visible_center(center_id)
    day_from, day_to = date_range()
    with engine().connect() as conn:
        return jsonify(reports.center_report(conn, center, day_from, day_to, time.time(), settings()))


@bp.get("/days")
@login_required
def days_page():
    """Day by day over the range, for the province or (?center=) one center."""
    center_id = request.args.get("center") or None
    center = visible_center(center_id) if center_id else None
    date_range()  # the script reads the range; a bad one is refused here as in the API
    shown = focus()
    with engine().connect() as conn:
        choices = reports.visible_centers(conn, g.user, shown)
    return render_template("days.html", center=center, choices=choices, threshold=settings().wait_p90_min,
                           total_word=text(scopes.total_word(shown)))  # fmt: skip


@bp.get("/api/v1/days")
@login_required
def days_json():
    center_id = request.args.get("center")
    center = visible_center(center_id) if center_id is not None else None
    day_from, day_to = date_range()
    shown = focus()
    with engine().connect() as conn:
        ids = [center["id"]] if center else [c["id"] for c in reports.visible_centers(conn, g.user, shown)]
        body = reports.daily(conn, ids, day_from, day_to, settings())
    scope = {k: center[k] for k in ("id", "name", "ward", "site")} if center else None
    return jsonify({"center": scope, **body})


@bp.get("/compare")
@login_required
def compare_page():
    service = request.args.get("service") or None
    if service is not None and not reports.SERVICE_KEY.fullmatch(service):
        abort(400, description="service must be a code of the service catalog, as the list gives it (chung_thuc)")
    day_from, day_to = date_range()
    with engine().connect() as conn:
        found = reports.comparison(conn, g.user, service, day_from, day_to, settings(), focus())
    if found["rows"] is None:
        abort(404, description="no center you may see has this service")
    chart = [{"name": r["name"], "ward": r["ward"], "site": r["site"], "issued": r["issued"], "resolved": r["resolved"],
              "p90_wait_min": r["p90_wait_min"], "breach": r["breach"]} for r in found["rows"]]  # fmt: skip
    return render_template("compare.html", **found, chart=chart, day_from=day_from, day_to=day_to)


@bp.get("/audit")
@login_required
def audit_page():
    """The national users' view of the audit log (it names every province's users and acts);
    for anyone else it is the 404 of a page that is not there."""
    if g.user.role != "national":
        abort(404)
    with engine().connect() as conn:
        rows = audit.latest(conn, limit=500)
    for r in rows:
        r["when"] = datetime.fromtimestamp(r["at"], ZONE).strftime("%d/%m/%Y %H:%M:%S")
    return render_template("audit.html", rows=rows)


def _exported(kind: str, day_from: str, day_to: str, rows: int) -> None:
    with engine().begin() as conn:
        audit.record(conn, "exported", g.user.username, request.remote_addr, target=f"{kind} {day_from} – {day_to}",
                     detail=f"{rows} rows")  # fmt: skip


def _export_header() -> list[str]:
    """The export's column names in the user's language; a wait bin's from its edge in minutes."""

    def head(name: str) -> str:
        kind, _, minutes = name.rpartition("_")
        return text(f"col_{kind}").format(minutes=minutes) if kind in ("wait_le", "wait_gt") else text(f"col_{name}")

    return [head(name) for name in reports.EXPORT_COLUMNS]


@bp.get("/export.csv")
@login_required
def export_csv():
    day_from, day_to = date_range()
    with engine().connect() as conn:
        rows = reports.export_rows(conn, g.user, day_from, day_to, settings(), focus())
    out = io.StringIO()
    out.write("\ufeff")  # a BOM, so Excel opens the Vietnamese names as UTF-8
    writer = csv.writer(out)
    writer.writerow(_export_header())
    writer.writerows(rows)
    _exported("csv", day_from, day_to, len(rows))
    name = f"hangcho-{day_from}_{day_to}.csv"
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _width(values: list[Any]) -> float:
    """A column's width in characters: its longest value, the header wrapping onto two lines."""
    header, *rest = (str(v) if v is not None else "" for v in values)
    longest = max((len(v) for v in rest), default=0)
    return min(60.0, max(6.0, longest + 2, len(header) / 2 + 2))


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    """The rows of the CSV as a sheet: a frozen, filterable header, fitted columns, figures as
    numbers (a blank, not "–", where there is none)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    day_from, day_to = date_range()
    with engine().connect() as conn:
        rows = reports.export_rows(conn, g.user, day_from, day_to, settings(), focus())
    header = _export_header()
    book = Workbook(write_only=True)
    book.properties.title = f"{text('sheet_title')} {day_from} – {day_to}"
    sheet = book.create_sheet(_sheet_title(day_from, day_to))
    for i, column in enumerate(zip(header, *rows, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = _width(list(column))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font, cell.alignment = bold, wrap
        cells.append(cell)
    sheet.append(cells)
    for row in rows:  # a name a center sent may hold a control character, which a sheet cannot
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    _exported("xlsx", day_from, day_to, len(rows))
    out = io.BytesIO()
    book.save(out)
    name = f"hangcho-{day_from}_{day_to}.xlsx"
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _sheet_title(day_from: str, day_to: str) -> str:
    """ "Số liệu 23-11-2026 – 30-11-2026": a sheet's name holds 31 characters and no "/"."""

    def dmy(day: str) -> str:
        return "-".join(reversed(day.split("-")))

    return f"{text('sheet_title')} {dmy(day_from)} – {dmy(day_to)}"[:31]
