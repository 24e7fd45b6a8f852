"""A citizen's ticket status, from the center's latest snapshot: no login, no personal data.

The QR code on a ticket can point here (`/c/<center>/t/<day>/<ticket>`): the ticket's state, how
many people are ahead, the estimated wait and who is being served for its service now.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, jsonify, render_template
from sqlalchemy import select

from contracts.ids import CENTER_ID, TICKET
from contracts.sync import is_day

from .auth import engine
from .schema import centers, snapshots

bp = Blueprint("public", __name__)
STATE_TEXT = {
    "waiting": "Đang chờ",
    "called": "Đã gọi — mời đến quầy {counter}",
    "serving": "Đang được phục vụ tại quầy {counter}",
}


def _service_of(ticket: object) -> str | None:
    match = TICKET.fullmatch(ticket) if isinstance(ticket, str) else None
    return match.group(1) if match else None


def ticket_status(center_id: str, day: str, ticket: str) -> dict:
    match = TICKET.fullmatch(ticket)
    if match is None or not CENTER_ID.fullmatch(center_id) or not is_day(day):
        abort(404)  # not a ticket any center could have printed
    with engine().connect() as conn:
        center = conn.execute(select(centers.c.name, centers.c.ward).where(centers.c.id == center_id)).first()
        snap = conn.execute(select(snapshots).where(snapshots.c.center_id == center_id)).mappings().first()
    if center is None:
        abort(404)
    body = snap["body"] if snap else {}
    code = match.group(1)
    view = {"center": center.name, "ward": center.ward, "ticket": ticket, "day": day, "state": "unknown",
            "text": "Số này không còn trong hàng chờ (đã phục vụ xong, đã qua lượt) hoặc chưa được cập nhật.",
            "serving": [{"counter": c["counter"], "ticket": c["ticket"]} for c in body.get("counters", [])
                        if _service_of(c.get("ticket")) == code],
            "updated_s_ago": round(time.time() - snap["received_at"]) if snap else None}  # fmt: skip
    entry = body.get("tickets", {}).get(ticket) if body.get("day") == day else None
    if entry:
        view |= {"state": entry["state"], "text": STATE_TEXT.get(entry["state"], "").format(**entry)}
        if entry["state"] == "waiting":
            eta = entry.get("eta_min")
            view |= {"ahead": entry["ahead"], "eta": f"{eta[0]}–{eta[1]} phút" if eta else "Chưa xác định"}
    return view


@bp.get("/c/<center_id>/t/<day>/<ticket>.json")
def ticket_json(center_id: str, day: str, ticket: str):
    return jsonify(ticket_status(center_id, day, ticket))


@bp.get("/c/<center_id>/t/<day>/<ticket>")
def ticket_page(center_id: str, day: str, ticket: str):
    refresh = current_app.extensions["hangcho.settings"].sync_interval_s
    return render_template("ticket.html", v=ticket_status(center_id, day, ticket), refresh=refresh)
