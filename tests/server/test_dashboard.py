"""The province dashboard through Flask's test client, on SQLite and PostgreSQL: who sees what,
the figures computed from synced rows, exports, the public ticket page, and the API's answers
checked against server/openapi.json."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import openpyxl
import pytest
from sqlalchemy import update

from contracts.sync import empty_bucket, empty_counter_day, empty_snapshot
from server import schema

from .conftest import CENTERS

DAY = "2026-11-23"


def sync(app, center, body):
    body = {"center": center, **body}
    headers = {"Authorization": f"Bearer {app.tokens[center]}"}
    r = app.test_client().post("/api/v1/sync", data=json.dumps(body), headers=headers, content_type="application/json")
    assert r.status_code == 200, r.json


def waits_in(bin_index: int, n: int, size: int = 23) -> list[int]:
    hist = [0] * size
    hist[bin_index] = n
    return hist


@pytest.fixture
def synced(server_app):
    """Tân Phú (two sites) and An Bình, as their gateways would have pushed them."""
    now = time.time()
    a = empty_bucket(DAY, 8, "A") | {"issued": 10, "called": 10, "served": 8, "resolved": 6, "forwarded": 1,
                                    "returned": 1, "cancelled": 1, "unfinished": 1, "wait_sum_s": 6000,
                                    "wait_hist": waits_in(5, 10), "rated": 4, "rating_sum": 18,
                                    "service_sum_s": 8 * 420}  # fmt: skip
    snapshot = {"taken_at": now, "day": DAY,
                "waiting": [{"service": "A", "name": "Chứng thực", "count": 3, "longest_wait_s": 1200}],
                "counters": [{"counter": 1, "status": "open", "ticket": "A010"},
                             {"counter": 2, "status": "paused", "ticket": None}],
                "devices": {"online": 4, "total": 5},
                "alerts": [{"device": "kiosk-2", "kind": "offline", "message": "Thiết bị kiosk-2 (kiosk) mất kết nối"}],
                "tickets": {"A011": {"state": "waiting", "ahead": 0, "eta_min": [5, 12]},
                            "A010": {"state": "called", "counter": 1}}}  # fmt: skip
    counter = empty_counter_day(DAY, 1) | {"served": 8, "resolved": 6, "service_sum_s": 8 * 420, "rated": 4,
                                           "rating_sum": 18}  # fmt: skip
    sync(server_app, "xa-tan-phu", {"seq": 1, "buckets": [a], "counters": [counter], "snapshot": snapshot})
    b = empty_bucket(DAY, 9, "A") | {"issued": 4, "called": 2, "wait_sum_s": 240, "wait_hist": waits_in(1, 2)}
    sync(server_app, "xa-tan-phu-diem-2", {"seq": 1, "buckets": [b], "snapshot": empty_snapshot(now, DAY) | {
         "waiting": [{"service": "A", "name": "Chứng thực", "count": 2, "longest_wait_s": 300}]}})  # fmt: skip
    c = empty_bucket(DAY, 10, "B") | {"issued": 5, "called": 5, "served": 5, "resolved": 5, "wait_sum_s": 5 * 2500,
                                     "wait_hist": waits_in(13, 5)}  # fmt: skip
    sync(server_app, "xa-an-binh", {"seq": 1, "buckets": [c], "snapshot": empty_snapshot(now, DAY)})
    return server_app


def test_pages_need_a_login_and_the_api_says_401(server_app, openapi):
    client = server_app.test_client()
    assert client.get("/").status_code == 302 and "/login" in client.get("/").headers["Location"]
    openapi(client.get(f"/api/v1/overview?from={DAY}"), "/api/v1/overview")
    assert client.get(f"/api/v1/overview?from={DAY}").status_code == 401


def test_a_wrong_password_fails_and_repeated_ones_slow_the_name(server_app, login):
    client = server_app.test_client()
    r = login(client, "tinh", "sai-mật-khẩu")
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu." in r.get_data(as_text=True)
    for _ in range(4):
        login(client, "tinh", "sai-mật-khẩu")
    r = login(client, "tinh")  # the right password, but too soon after the fifth failure
    assert r.status_code == 429 and "thử lại sau 1 giây" in r.get_data(as_text=True)
    assert r.headers["Retry-After"] == "1"
    assert login(server_app.test_client(), "lan").status_code == 302  # another name is not


def test_forms_without_the_csrf_token_are_refused(server_app, login):
    client = server_app.test_client()
    assert client.post("/login", data={"username": "tinh", "password": "x" * 12}).status_code == 400
    login(client, "tinh")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_the_province_sees_every_center_and_each_wards_roll_up(synced, login, openapi):
    client = synced.test_client()
    login(client, "tinh")
    body = openapi(client.get(f"/api/v1/overview?from={DAY}"), "/api/v1/overview").json
    rows = {r["id"]: r for r in body["centers"]}
    assert set(rows) == {"xa-tan-phu", "xa-tan-phu-diem-2", "xa-an-binh"}
    tp = rows["xa-tan-phu"]
    assert (tp["served"], tp["resolved_pct"], tp["avg_wait_min"], tp["p90_wait_min"], tp["satisfaction"]) == (
        8, 75.0, 10.0, 9.7, 4.5)  # fmt: skip
    assert (tp["waiting"], tp["longest_wait_min"], tp["counters_open"], len(tp["alerts"]), tp["stale"]) == (
        3, 20.0, 1, 1, False)  # fmt: skip
    assert tp["breach"] is False and rows["xa-an-binh"]["breach"] is True  # P90 40–45 min > 20
    assert (tp["issued"], tp["served"], tp["no_show"], tp["cancelled"], tp["unfinished"]) == (10, 8, 0, 1, 1)
    wards = {w["ward"]: w for w in body["wards"]}
    assert (wards["Tân Phú"]["sites"], wards["Tân Phú"]["issued"], wards["Tân Phú"]["waiting"]) == (2, 14, 5)
    assert (wards["Tân Phú"]["cancelled"], wards["Tân Phú"]["unfinished"]) == (1, 1)  # the province total keeps them
    total = body["total"]  # the province's row: sums, and averages weighted by the tickets behind them
    assert total["centers"] == 3 and total["issued"] == sum(r["issued"] for r in rows.values())
    assert total["waiting"] == sum(r["waiting"] or 0 for r in rows.values())
    assert total["alerts"] == sum(len(r["alerts"]) for r in rows.values())
    served = sum(r["served"] for r in rows.values())
    resolved = sum(r["resolved"] for r in rows.values())
    assert total["served"] == served and total["resolved_pct"] == round(100 * resolved / served, 1)
    assert (
        min(r["p90_wait_min"] for r in rows.values())
        <= total["p90_wait_min"]
        <= max(r["p90_wait_min"] for r in rows.values())
    )
    assert total["breach"] == (total["p90_wait_min"] > 20)
    other_day = client.get("/api/v1/overview?from=2026-11-24").json
    assert all(r["issued"] == 0 for r in other_day["centers"]) and other_day["total"]["issued"] == 0


def test_staff_see_only_their_own_center(synced, login, openapi):
    client = synced.test_client()
    login(client, "lan")
    body = client.get(f"/api/v1/overview?from={DAY}").json
    assert [r["id"] for r in body["centers"]] == ["xa-an-binh"]
    openapi(client.get(f"/api/v1/centers/xa-tan-phu?from={DAY}"), "/api/v1/centers/xa-tan-phu")
    hidden, missing = (
        client.get(f"/api/v1/centers/xa-tan-phu?from={DAY}"),
        client.get(f"/api/v1/centers/nowhere?from={DAY}"),
    )
    assert hidden.status_code == missing.status_code == 404 and hidden.get_data() == missing.get_data()
    assert client.get("/centers/xa-tan-phu").status_code == 404  # the same as a center that does not exist
    assert client.get("/centers/xa-an-binh").status_code == 200


def test_a_centers_report_by_hour_service_and_counter(synced, login, openapi):
    client = synced.test_client()
    login(client, "tinh")
    body = openapi(client.get(f"/api/v1/centers/xa-tan-phu?from={DAY}"), "/api/v1/centers/xa-tan-phu").json
    assert [(h["hour"], h["issued"]) for h in body["hours"]] == [(8, 10)]
    assert [(s["service"], s["name"], s["served"], s["avg_service_min"]) for s in body["services"]] == [
        ("A", "Chứng thực", 8, 7.0)]  # fmt: skip
    counters = {c["counter"]: c for c in body["counters"]}
    assert (counters[1]["served"], counters[1]["satisfaction"], counters[1]["ticket"]) == (8, 4.5, "A010")
    assert counters[2]["status"] == "paused"
    assert body["live"]["devices"] == {"online": 4, "total": 5}


def test_a_bad_date_range_is_400(synced, login, openapi):
    client = synced.test_client()
    login(client, "tinh")
    for query in ("from=2026-13-01", f"from={DAY}&to=2026-11-01", "from=2025-01-01&to=2026-11-23"):
        r = openapi(client.get(f"/api/v1/overview?{query}"), "/api/v1/overview")
        assert r.status_code == 400, query


def test_each_centers_outcomes_are_shown_beside_served_vietnamese_first(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    for path in ("/", "/centers/xa-tan-phu"):
        page = client.get(path).get_data(as_text=True)
        headers = re.findall(r"<th[^>]*>([^<]+)</th>", page)
        assert headers[headers.index("Đã phục vụ") + 1 :][:3] == ["Vắng mặt", "Đã hủy", "Chưa hoàn tất"], path
    body = client.get(f"/api/v1/centers/xa-tan-phu?from={DAY}").json
    assert [(s["service"], s["cancelled"], s["unfinished"]) for s in body["services"]] == [("A", 1, 1)]
    export = client.get(f"/export.csv?from={DAY}").get_data(as_text=True)
    header, *lines = csv.reader(io.StringIO(export.lstrip("\ufeff")))
    assert header[header.index("Vắng mặt") + 1 :][:2] == ["Đã hủy", "Chưa hoàn tất"]
    tan_phu = dict(zip(header, next(line for line in lines if line[0] == "Trung tâm PVHCC xã Tân Phú"), strict=True))
    assert (tan_phu["Số phát"], tan_phu["Đã phục vụ"], tan_phu["Đã hủy"], tan_phu["Chưa hoàn tất"]) == (
        "10",
        "8",
        "1",
        "1",
    )
    client.get("/lang/en")
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", client.get("/").get_data(as_text=True))
    assert headers[headers.index("Served") + 1 :][:3] == ["No-shows", "Cancelled", "Unfinished"]


def test_a_stale_center_is_flagged(synced, login):
    with synced.extensions["hangcho.engine"].begin() as conn:
        conn.execute(update(schema.snapshots).where(schema.snapshots.c.center_id == "xa-an-binh")
                     .values(received_at=time.time() - 600))  # fmt: skip
    client = synced.test_client()
    login(client, "tinh")
    rows = {r["id"]: r for r in client.get(f"/api/v1/overview?from={DAY}").json["centers"]}
    assert rows["xa-an-binh"]["stale"] is True and rows["xa-an-binh"]["sync_age_s"] >= 600
    assert rows["xa-tan-phu"]["stale"] is False


def test_exports_in_csv_and_excel_hold_the_same_rows(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    r = client.get(f"/export.csv?from={DAY}")
    assert r.headers["Content-Disposition"] == f'attachment; filename="hangcho-{DAY}_{DAY}.csv"'
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeffTrung tâm,Xã, phường".replace("Xã, phường", '"Xã, phường"'))
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(lines) == 4 and lines[1][:5] == ["Trung tâm PVHCC xã An Bình", "An Bình", DAY, "10", "B"]
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/export.xlsx?from={DAY}").data))
    sheet = [[("" if v is None else str(v)) for v in row] for row in book.active.iter_rows(values_only=True)]
    assert sheet[0] == lines[0][:1] + lines[0][1:] and [row[:5] for row in sheet[1:]] == [
        line[:5] for line in lines[1:]
    ]
    staff = synced.test_client()
    login(staff, "lan")
    assert len(list(csv.reader(io.StringIO(staff.get(f"/export.csv?from={DAY}").get_data(as_text=True))))) == 2


def test_the_public_ticket_page_shows_place_and_wait_without_a_login(synced, openapi):
    client = synced.test_client()
    body = openapi(client.get(f"/c/xa-tan-phu/t/{DAY}/A011.json"), f"/c/xa-tan-phu/t/{DAY}/A011.json").json
    assert (body["state"], body["ahead"], body["eta"]) == ("waiting", 0, "5–12 phút")
    assert body["serving"] == [{"counter": 1, "ticket": "A010"}]
    called = client.get(f"/c/xa-tan-phu/t/{DAY}/A010.json").json
    assert called["text"] == "Đã gọi — mời đến quầy 1"
    assert client.get("/c/xa-tan-phu/t/2026-11-22/A011.json").json["state"] == "unknown"  # another day
    assert client.get(f"/c/xa-tan-phu/t/{DAY}/A999.json").json["state"] == "unknown"
    assert client.get(f"/c/nowhere/t/{DAY}/A011.json").status_code == 404
    page = client.get(f"/c/xa-tan-phu/t/{DAY}/A011").get_data(as_text=True)
    assert "Số A011" in page and "5–12 phút" in page
    assert (body["center"], body["ward"]) == (CENTERS[0][1], CENTERS[0][2])  # which center, and where
    assert f"<strong>{CENTERS[0][1]}</strong><br>{CENTERS[0][2]}" in page


def test_compare_centers_on_one_service(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    page = client.get(f"/compare?service=B&from={DAY}").get_data(as_text=True)
    assert '<tr class="breach"><td><a href="/centers/xa-an-binh' in page


def test_english_on_request(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    assert "Các trung tâm" in client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    assert "Centers" in client.get("/").get_data(as_text=True)
    assert client.get(f"/export.csv?from={DAY}").get_data(as_text=True).startswith("\ufeffCenter,Ward,Day")


def test_a_tickets_qr_code_can_lead_to_the_server(synced):
    """A center with `public_url = "https://<server>/c/<center>"` prints QR codes for this page."""
    from urllib.parse import urlparse

    from gateway.config import center_from_dict
    from gateway.ticket import status_url

    center = {"id": "xa-tan-phu", "name": "Tân Phú", "public_url": "https://hcc.example.gov.vn/c/xa-tan-phu"}
    services, counters = [{"code": "A", "name": "Chứng thực"}], [{"number": 1, "tiers": [["A"]]}]
    config = center_from_dict({"center": center, "services": services, "counters": counters}, source="test")
    path = urlparse(status_url(config, DAY, "A011")).path
    page = synced.test_client().get(path)
    assert page.status_code == 200 and "Số A011" in page.get_data(as_text=True)


def test_what_no_route_takes_is_refused_not_guessed(synced, login):
    """A date Python's fromisoformat would take but the document does not, a service that is not
    a letter, a language the pages do not speak, a ticket day that is not a date: each refused."""
    client = synced.test_client()
    login(client, "tinh")
    assert client.get("/api/v1/overview?from=20261123").status_code == 400
    assert client.get("/api/v1/overview?from=2026-W48-1").status_code == 400
    assert client.get("/compare?service=AB").status_code == 400
    assert client.get("/compare?service=<b>").status_code == 400
    assert client.get("/lang/fr").status_code == 404
    assert client.get("/c/xa-tan-phu/t/hom-nay/A001.json").status_code == 404
    assert client.get("/c/Xa Tan Phu/t/2026-11-23/A001.json").status_code == 404


def test_one_end_of_a_range_alone_is_that_one_day(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    for query in ("to=2026-11-23", "from=2026-11-23"):
        answer = client.get(f"/api/v1/overview?{query}").json
        assert (answer["from"], answer["to"]) == ("2026-11-23", "2026-11-23")


def test_the_site_has_an_icon(server_app):
    client = server_app.test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


def test_figures_are_written_the_vietnamese_way(synced, login):
    from server.i18n import number

    assert [number(v) for v in (78.2, 19075, 19075.0, 0.0, None, 5)] == ["78,2", "19.075", "19.075", "0", "–", "5"]
    client = synced.test_client()
    login(client, "tinh")
    page = client.get(f"/compare?service=A&from={DAY}").get_data(as_text=True)
    figures = re.findall(r"<td>([0-9][0-9.,]*)</td>", page)
    assert figures and not any(re.fullmatch(r"[0-9]+\.[0-9]", f) for f in figures), figures  # 78,2, never 78.2
