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

from contracts.sync import WAIT_EDGES_MIN, empty_bucket, empty_counter_day, empty_snapshot, quantile
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
    a = empty_bucket(DAY, 8, "A", "chung_thuc") | {
        "issued": 10, "called": 10, "served": 8, "resolved": 6, "forwarded": 1,
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
    b = empty_bucket(DAY, 9, "A", "chung_thuc") | {"issued": 4, "called": 2, "wait_sum_s": 240,
                                                  "wait_hist": waits_in(1, 2)}  # fmt: skip
    sync(server_app, "xa-tan-phu-diem-2", {"seq": 1, "buckets": [b], "snapshot": empty_snapshot(now, DAY) | {
         "waiting": [{"service": "A", "name": "Chứng thực", "count": 2, "longest_wait_s": 300}]}})  # fmt: skip
    c = empty_bucket(DAY, 10, "B", "ho_tich") | {"issued": 5, "called": 5, "served": 5, "resolved": 5,
                                                "wait_sum_s": 5 * 2500,
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
    tan_phu = dict(zip(header, next(line for line in lines if line[0] == "xa-tan-phu"), strict=True))
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


EXPORT_HEADER = ["Mã trung tâm", "Trung tâm", "Xã, phường", "Điểm tiếp nhận", "Ngày", "Giờ", "Mã dịch vụ",
                 "Tên dịch vụ", "Mã lĩnh vực", "Lĩnh vực", "Số phát", "Ưu tiên", "Đã gọi (số lượt chờ)", "Đã phục vụ",
                 "Giải quyết tại chỗ",
                 "Chuyển cơ quan chuyên môn", "Trả lại (thiếu hồ sơ)", "Vắng mặt", "Đã hủy", "Chưa hoàn tất",
                 "Tổng thời gian chờ (giây)", "Tổng thời gian phục vụ (giây)", "Số lượt đánh giá", "Tổng điểm đánh giá",
                 *(f"Chờ ≤ {m} phút" for m in WAIT_EDGES_MIN), "Chờ > 240 phút",
                 "Chờ TB (phút)", "Chờ P90 (phút)", "Phục vụ TB (phút)", "Hài lòng (1–5)"]  # fmt: skip


def test_exports_carry_the_counts_that_re_aggregate_to_the_overview(synced, login):
    """Each row says where (center id, ward, site) and carries counts, sums and the wait histogram:
    summed, they give back the overview's province row, its averages and its P90."""
    client = synced.test_client()
    login(client, "tinh")
    r = client.get(f"/export.csv?from={DAY}")
    assert r.headers["Content-Disposition"] == f'attachment; filename="hangcho-{DAY}_{DAY}.csv"'
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeffMã trung tâm,Trung tâm,")
    header, *lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header == EXPORT_HEADER
    assert [line[:9] for line in lines] == [  # each center's own letter and name, and the catalog's field
        ["xa-an-binh", "Trung tâm PVHCC xã An Bình", "An Bình", "main", DAY, "10", "B", "", "ho_tich"],
        ["xa-tan-phu", "Trung tâm PVHCC xã Tân Phú", "Tân Phú", "main", DAY, "8", "A", "Chứng thực", "chung_thuc"],
        [
            "xa-tan-phu-diem-2",
            "Điểm tiếp nhận Tân Phú 2",
            "Tân Phú",
            "Điểm 2",
            DAY,
            "9",
            "A",
            "Chứng thực",
            "chung_thuc",
        ],
    ]
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    total = client.get(f"/api/v1/overview?from={DAY}").json["total"]

    def summed(column: str) -> int:
        return sum(int(row[column]) for row in rows)

    for column, key in (("Số phát", "issued"), ("Đã phục vụ", "served"), ("Giải quyết tại chỗ", "resolved"),
                        ("Chuyển cơ quan chuyên môn", "forwarded"), ("Vắng mặt", "no_show"), ("Đã hủy", "cancelled"),
                        ("Chưa hoàn tất", "unfinished"), ("Số lượt đánh giá", "rated")):  # fmt: skip
        assert summed(column) == total[key], column
    assert round(summed("Tổng thời gian chờ (giây)") / summed("Đã gọi (số lượt chờ)") / 60, 1) == total["avg_wait_min"]
    assert round(summed("Tổng điểm đánh giá") / summed("Số lượt đánh giá"), 2) == total["satisfaction"]
    hist = [summed(column) for column in header if column.startswith(("Chờ ≤", "Chờ >"))]
    assert len(hist) == len(WAIT_EDGES_MIN) + 1 and quantile(hist, WAIT_EDGES_MIN, 0.9) == total["p90_wait_min"]

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/export.xlsx?from={DAY}").data))
    sheet = book.active
    assert sheet.title == "Số liệu 23-11-2026 – 23-11-2026" and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}4"
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == header and [[str(v) for v in row[:7]] for row in values[1:]] == [
        line[:7] for line in lines
    ]
    counts = values[1][header.index("Số phát") : header.index("Chờ TB (phút)")]
    assert all(type(v) is int for v in counts) and values[1][header.index("Chờ P90 (phút)")] > 40  # numbers
    widths = {c: sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i, c in enumerate(header)}
    assert widths["Trung tâm"] >= len("Trung tâm PVHCC xã An Bình") and widths["Giờ"] < 10, widths
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
    page = client.get(f"/compare?service=ho_tich&from={DAY}").get_data(as_text=True)
    assert '<tr class="breach"><td class="name"><a href="/centers/xa-an-binh' in page


def test_english_on_request(synced, login):
    client = synced.test_client()
    login(client, "tinh")
    assert "Các trung tâm" in client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    assert "Centers" in client.get("/").get_data(as_text=True)
    export = client.get(f"/export.csv?from={DAY}").get_data(as_text=True)
    assert export.startswith("\ufeffCenter id,Center,Ward,Site,Day")


def test_a_tickets_qr_code_can_lead_to_the_server(synced):
    """A center with `public_url = "https://<server>/c/<center>"` prints QR codes for this page."""
    from urllib.parse import urlparse

    from gateway.config import center_from_dict
    from gateway.ticket import status_url

    center = {"id": "xa-tan-phu", "name": "Tân Phú", "public_url": "https://hcc.example.gov.vn/c/xa-tan-phu"}
    services, counters = [{"code": "A", "name": "Chứng thực", "field": "chung_thuc"}], [{"number": 1, "tiers": [["A"]]}]
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
    page = client.get(f"/compare?service=chung_thuc&from={DAY}").get_data(as_text=True)
    figures = re.findall(r"<td>([0-9][0-9.,]*)</td>", page)
    assert figures and not any(re.fullmatch(r"[0-9]+\.[0-9]", f) for f in figures), figures  # 78,2, never 78.2


def test_day_by_day_figures_are_the_buckets_sums(synced, login, openapi):
    """Each day of the range, for the province and for one center: the sums of that day's hourly
    buckets (a day without any as 0), the range's total, and the overview's per-day series."""
    nov24 = empty_bucket("2026-11-24", 14, "A") | {"issued": 7, "called": 6, "served": 6, "resolved": 4,
                                                  "forwarded": 2, "no_show": 1, "wait_sum_s": 6 * 600,
                                                  "wait_hist": waits_in(8, 6)}  # fmt: skip
    later = empty_bucket("2026-11-24", 15, "B") | {"issued": 3, "called": 3, "served": 3, "resolved": 3,
                                                  "wait_sum_s": 3 * 60, "wait_hist": waits_in(0, 3)}  # fmt: skip
    sync(synced, "xa-tan-phu", {"seq": 2, "buckets": [nov24, later]})
    client = synced.test_client()
    login(client, "tinh")
    query = f"from={DAY}&to=2026-11-26"
    body = openapi(client.get(f"/api/v1/days?{query}"), "/api/v1/days").json
    assert body["center"] is None
    assert [d["day"] for d in body["days"]] == [DAY, "2026-11-24", "2026-11-25", "2026-11-26"]
    first, second, empty = body["days"][0], body["days"][1], body["days"][2]
    assert (first["issued"], first["served"], first["forwarded"], first["no_show"]) == (10 + 4 + 5, 8 + 5, 1, 0)
    assert (second["issued"], second["served"], second["resolved"], second["forwarded"], second["no_show"]) == (
        10, 9, 7, 2, 1)  # fmt: skip
    assert second["resolved_pct"] == round(100 * 7 / 9, 1) and second["avg_wait_min"] == round((3600 + 180) / 9 / 60, 1)
    assert second["p90_wait_min"] == quantile(
        [a + b for a, b in zip(waits_in(8, 6), waits_in(0, 3), strict=True)], WAIT_EDGES_MIN, 0.9
    )
    assert (empty["issued"], empty["p90_wait_min"], empty["breach"]) == (0, None, False)
    assert first["breach"] is (first["p90_wait_min"] > 20)
    assert body["total"]["issued"] == sum(d["issued"] for d in body["days"]) == 29
    overview = client.get(f"/api/v1/overview?{query}").json
    assert overview["days"] == body["days"] and overview["total"]["issued"] == body["total"]["issued"]
    one = openapi(client.get(f"/api/v1/days?center=xa-tan-phu&{query}"), "/api/v1/days").json
    assert one["center"]["name"] == "Trung tâm PVHCC xã Tân Phú"
    assert [d["issued"] for d in one["days"]] == [10, 10, 0, 0] and one["total"]["served"] == 8 + 9
    page = client.get(f"/days?center=xa-tan-phu&{query}")
    assert page.status_code == 200 and "Trung tâm PVHCC xã Tân Phú" in page.get_data(as_text=True)
    assert 'href="/days?center=xa-tan-phu"' in client.get("/centers/xa-tan-phu").get_data(as_text=True)
    assert 'id="see-days"' in client.get("/").get_data(as_text=True)
    staff = synced.test_client()
    login(staff, "lan")
    assert [d["issued"] for d in staff.get(f"/api/v1/days?{query}").json["days"]] == [5, 0, 0, 0]  # An Bình's only
    hidden = openapi(staff.get(f"/api/v1/days?center=xa-tan-phu&{query}"), "/api/v1/days")
    assert hidden.status_code == 404 and staff.get("/days?center=xa-tan-phu").status_code == 404
    assert openapi(client.get("/api/v1/days?from=2026-11-26&to=2026-11-23"), "/api/v1/days").status_code == 400


def test_compare_groups_by_catalog_field_and_marks_breaches(synced, login):
    """The list holds the catalog's fields the centers have, by name: two centers that give civil
    status different letters (B at An Bình, C at Tân Phú's second site) are compared as one; a
    breach's P90 cell is red and marked with a sign and a word, not by colour alone."""
    c = empty_bucket(DAY, 11, "C", "ho_tich") | {"issued": 2, "called": 2, "served": 2, "resolved": 2,
                                                "wait_sum_s": 120, "wait_hist": waits_in(1, 2)}  # fmt: skip
    sync(synced, "xa-tan-phu-diem-2", {"seq": 2, "buckets": [c]})
    client = synced.test_client()
    login(client, "tinh")
    page = client.get(f"/compare?from={DAY}").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
    assert [(value, label) for value, _, label in options] == [
        ("ho_tich", "Hộ tịch (khai sinh, kết hôn, khai tử) (2 trung tâm)"),  # the catalog's order
        ("chung_thuc", "Chứng thực (sao y, chữ ký, hợp đồng) (2 trung tâm)"),
    ]
    assert options[0][1] == " selected"  # none asked for: the first
    assert re.findall(r'<td class="name"><a href="/centers/([^?]+)', page) == ["xa-an-binh", "xa-tan-phu-diem-2"]
    cell = re.search(r'<td class="p90 breach">(.*?)</td>', page).group(1)
    mark = '<span class="mark" title="Vượt ngưỡng">▲</span><span class="sr">Vượt ngưỡng</span>'
    assert cell.startswith(mark) and cell.endswith(" 44,5")
    assert 'id="compare-data"' in page and '"breach": true' in page  # the chart's figures
    assert client.get(f"/compare?service=dat_dai&from={DAY}").status_code == 200  # in the catalog: an empty table
    assert client.get(f"/compare?service=khong_co&from={DAY}").status_code == 404  # not in the catalog
    assert client.get(f"/compare?service=B&from={DAY}").status_code == 400  # a letter means nothing across centers


def test_a_service_name_with_a_control_character_still_exports(server_app, login):
    """The sync API takes any text as a service's name; a sheet cannot hold a control character."""
    now = time.time()
    bucket = empty_bucket(DAY, 8, "A", "chung_thuc") | {"issued": 1}
    snapshot = empty_snapshot(now, DAY) | {"waiting": [{"service": "A", "name": "Chứng\x01thực", "count": 0,
                                                        "longest_wait_s": 0}]}  # fmt: skip
    sync(server_app, "xa-an-binh", {"seq": 1, "buckets": [bucket], "snapshot": snapshot})
    client = server_app.test_client()
    login(client, "tinh")
    answer = client.get(f"/export.xlsx?from={DAY}")
    assert answer.status_code == 200
    row = next(openpyxl.load_workbook(io.BytesIO(answer.get_data())).active.iter_rows(min_row=2, values_only=True))
    assert row[7] == "Chứngthực"
