"""The leader's monthly report (server/monthly.py) on SQLite and PostgreSQL: its figures are the
sums of the synced buckets (per center, commune and province, and the month before), the scope is
the user's, a bad month or scope is refused naming the parameter, and the workbook and the PDF say
the same figures in Vietnamese."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from pypdf import PdfReader

from contracts.sync import WAIT_EDGES_MIN, empty_bucket, empty_counter_day, empty_snapshot, quantile
from server import accounts, monthly
from server.app import close, create_app
from server.settings import Settings

from .conftest import PASSWORD
from .test_dashboard import sync

# id, name, commune (official code), site: two sites of Phú Định and one of Vũng Tàu (Hồ Chí Minh
# City), one of Hoàn Kiếm (Hà Nội)
CENTERS = [
    ("phu-dinh", "Trung tâm PVHCC phường Phú Định", 27427, "main"),
    ("phu-dinh-diem-2", "Điểm tiếp nhận Phú Định 2", 27427, "Điểm 2"),
    ("vung-tau", "Trung tâm PVHCC phường Vũng Tàu", 26506, "main"),
    ("hoan-kiem", "Trung tâm PVHCC phường Hoàn Kiếm", 70, "main"),
]


def bucket(day: str, hour: int, service: str, issued: int, served: int, resolved: int, forwarded: int, no_show: int,
           waits: dict[int, int], wait_min: float, rated: int = 0, rating_sum: int = 0) -> dict:  # fmt: skip
    """A closed hour: every ticket served, a no-show or unfinished; `waits` {bin: tickets called}."""
    called = sum(waits.values())
    hist = [0] * (len(WAIT_EDGES_MIN) + 1)
    for i, n in waits.items():
        hist[i] = n
    return empty_bucket(day, hour, service) | {
        "issued": issued, "called": called, "served": served, "resolved": resolved, "forwarded": forwarded,
        "returned": served - resolved - forwarded, "no_show": no_show, "unfinished": issued - served - no_show,
        "wait_sum_s": round(called * wait_min * 60), "wait_hist": hist, "rated": rated, "rating_sum": rating_sum,
    }  # fmt: skip


# fmt: off
BUCKETS = {  # center: buckets; November 2026 is the month, October the one before; 1 December is neither
    "phu-dinh": [
        bucket("2026-11-02", 8, "A", 1200, 1100, 800, 250, 40, {5: 1000, 9: 150}, 10, 500, 2100),
        bucket("2026-11-03", 9, "B", 100, 100, 100, 0, 0, {3: 100}, 5, 100, 480),
        bucket("2026-10-15", 8, "A", 900, 850, 500, 300, 50, {5: 600, 10: 300}, 15, 400, 1500),
        bucket("2026-12-01", 8, "A", 999, 999, 999, 0, 0, {0: 999}, 1),
    ],
    "phu-dinh-diem-2": [bucket("2026-11-02", 10, "A", 60, 60, 60, 0, 0, {1: 60}, 2)],
    "vung-tau": [bucket("2026-11-04", 8, "A", 30, 30, 20, 10, 0, {13: 30}, 30),
                 bucket("2026-10-31", 16, "A", 20, 20, 20, 0, 0, {2: 20}, 3)],
    "hoan-kiem": [bucket("2026-11-05", 8, "A", 10, 10, 10, 0, 0, {4: 10}, 6)],
}
COUNTERS = {  # center: (day, counter): Phú Định open 2 days in November (3 + 2 counters), 1 in October (2)
    "phu-dinh": [("2026-11-02", 1), ("2026-11-02", 2), ("2026-11-02", 3), ("2026-11-03", 1), ("2026-11-03", 2),
                 ("2026-10-15", 1), ("2026-10-15", 2)],
    "phu-dinh-diem-2": [("2026-11-02", 1)],
}
# fmt: on


@pytest.fixture
def months(server_db):
    """Four centers in three communes of two provinces, their gateways' November and October; an
    admin "tinh" and a staff "lan" of Vũng Tàu. Service B's threshold is 4 minutes, the rest 20."""
    app = create_app(Settings(database_url=server_db, secret_key="test", wait_p90_min=20, service_p90_min={"B": 4}))
    app.config["TESTING"] = True
    with app.extensions["hangcho.engine"].begin() as conn:
        for center_id, name, commune, site in CENTERS:
            accounts.add_center(conn, center_id, name, site=site, commune=commune)
        app.tokens = {c[0]: accounts.add_gateway(conn, c[0]) for c in CENTERS}
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
        accounts.add_user(conn, "lan", PASSWORD, "staff", "vung-tau")
    for center_id, buckets in BUCKETS.items():
        counters = [empty_counter_day(day, n) | {"served": 1} for day, n in COUNTERS.get(center_id, [])]
        sync(app, center_id, {"seq": 1, "buckets": buckets, "counters": counters,
                              "snapshot": empty_snapshot(time.time(), "2026-11-30")})  # fmt: skip
    yield app
    close(app)


def expected(buckets: list[dict], month: str, thresholds: dict[str, float]) -> dict:
    """The figures straight from the buckets sent (not through the server's sums)."""
    rows = [b for b in buckets if b["day"].startswith(month)]

    def total(name):
        return sum(b[name] for b in rows)

    hist = [sum(col) for col in zip(*(b["wait_hist"] for b in rows), strict=True)] if rows else None
    over = sum(monthly.waits_over(b["wait_hist"], thresholds.get(b["service"], 20)) for b in rows)
    return {"issued": total("issued"), "received": total("served"), "forwarded": total("forwarded"),
            "no_show": total("no_show"),
            "resolved_pct": round(100 * total("resolved") / total("served"), 1) if rows else None,
            "avg_wait_min": round(total("wait_sum_s") / total("called") / 60, 1) if rows else None,
            "p90_wait_min": quantile(hist, WAIT_EDGES_MIN, 0.9) if rows else None,
            "over_threshold_pct": round(100 * over / total("called"), 1) if rows else None,
            "satisfaction": round(total("rating_sum") / total("rated"), 2) if total("rated") else None}  # fmt: skip


def report(app, login, user="tinh", query="month=2026-11", openapi=None):
    client = app.test_client()
    login(client, user)
    r = client.get(f"/api/v1/reports/monthly?{query}")
    if openapi:
        openapi(r, "/api/v1/reports/monthly")
    return r


def test_the_figures_are_the_sums_of_the_synced_buckets(months, login, openapi):
    r = report(months, login, openapi=openapi)
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["from"], body["to"], body["previous"]) == ("2026-11-01", "2026-11-30", "2026-10")
    b = {"B": 4}
    centers = {e["id"]: e for e in body["centers"]}
    for center_id, buckets in BUCKETS.items():
        for month, side in (("2026-11", "now"), ("2026-10", "before")):
            got = centers[center_id][side]
            assert {k: got[k] for k in expected(buckets, month, b)} == expected(buckets, month, b), (center_id, side)
    phu_dinh = BUCKETS["phu-dinh"] + BUCKETS["phu-dinh-diem-2"]
    communes = {e["name"]: e for e in body["communes"]}
    assert communes["Phường Phú Định"]["sites"] == 2
    assert communes["Phường Phú Định"]["province"] == "Thành phố Hồ Chí Minh"
    for name, buckets in (("Phường Phú Định", phu_dinh), ("Phường Vũng Tàu", BUCKETS["vung-tau"])):
        for month, side in (("2026-11", "now"), ("2026-10", "before")):
            want = expected(buckets, month, b)
            assert {k: communes[name][side][k] for k in want} == want, (name, side)
    provinces = {e["name"]: e for e in body["provinces"]}
    hcmc = phu_dinh + BUCKETS["vung-tau"]
    want = expected(hcmc, "2026-11", b)
    assert {k: provinces["Thành phố Hồ Chí Minh"]["now"][k] for k in want} == want
    assert provinces["Thành phố Hà Nội"]["now"]["issued"] == 10
    every = [x for buckets in BUCKETS.values() for x in buckets]
    want = expected(every, "2026-11", b)
    assert {k: body["total"]["now"][k] for k in want} == want
    assert body["total"]["now"]["issued"] == 1200 + 100 + 60 + 30 + 10  # not 1 December's 999
    # B's 100 waits of 3–5 min against its 4 min: half over; A's 150 of 20–25 min against 20: all
    assert centers["phu-dinh"]["now"]["over_threshold_pct"] == round(100 * (150 + 50) / 1250, 1)
    assert centers["phu-dinh"]["now"]["counters_per_day"] == 2.5  # (3 + 2) counters over 2 days
    assert centers["phu-dinh"]["before"]["counters_per_day"] == 2.0
    assert communes["Phường Phú Định"]["now"]["counters_per_day"] == 3.0  # (3 + 2 + 1) over 2 days
    assert centers["vung-tau"]["now"]["counters_per_day"] is None  # no counter synced
    change = centers["phu-dinh"]["change"]
    assert change["issued"] == {"diff": 400, "direction": "up", "better": None}
    assert change["no_show"] == {"diff": -10, "direction": "down", "better": True}
    assert change["avg_wait_min"]["direction"] == "down" and change["avg_wait_min"]["better"] is True
    assert centers["phu-dinh-diem-2"]["change"]["issued"] == {"diff": None, "direction": None, "better": None}


@pytest.mark.parametrize("server_db", ["sqlite"], indirect=True)
def test_one_commune_one_province_one_center(months, login, openapi):
    body = report(months, login, query="month=2026-11&commune=27427", openapi=openapi).json
    assert [e["id"] for e in body["centers"]] == ["phu-dinh", "phu-dinh-diem-2"]
    assert body["scope"] == {"kind": "commune", "value": "27427",
                             "name": "Phường Phú Định (Thành phố Hồ Chí Minh, mã 27427)"}  # fmt: skip
    assert body["total"]["now"]["issued"] == 1360
    body = report(months, login, query="month=2026-11&province=79").json
    assert sorted(e["id"] for e in body["centers"]) == ["phu-dinh", "phu-dinh-diem-2", "vung-tau"]
    body = report(months, login, query="month=2026-11&center=hoan-kiem").json
    assert [e["id"] for e in body["centers"]] == ["hoan-kiem"] and body["total"]["now"]["issued"] == 10
    body = report(months, login, query="month=2026-11&province=79&commune=26506").json  # both hold
    assert [e["id"] for e in body["centers"]] == ["vung-tau"] and body["scope"]["kind"] == "commune"
    assert report(months, login, query="month=2026-11&center=hoan-kiem&province=79").status_code == 404


def test_staff_see_only_their_center(months, login, openapi):
    body = report(months, login, "lan", openapi=openapi).json
    assert [e["id"] for e in body["centers"]] == ["vung-tau"]
    assert body["total"]["now"]["issued"] == 30 and [p["name"] for p in body["provinces"]] == ["Thành phố Hồ Chí Minh"]
    for query in ("center=phu-dinh", "commune=27427", "province=70", "center=no-such-center"):
        r = report(months, login, "lan", f"month=2026-11&{query}", openapi)
        assert r.status_code == 404, query
    client = months.test_client()
    login(client, "lan")
    for path in ("/reports/monthly.xlsx", "/reports/monthly.pdf", "/reports/monthly"):
        assert client.get(f"{path}?month=2026-11&center=phu-dinh").status_code == 404
    page = client.get("/reports/monthly?month=2026-11").get_data(as_text=True)
    assert "Vũng Tàu" in page and "Phú Định" not in page


@pytest.mark.parametrize("server_db", ["sqlite"], indirect=True)
def test_a_bad_month_or_scope_is_refused_naming_it(months, login, openapi):
    for query, word in (("month=2026-13", "month"), ("month=2026-1", "month"), ("month=", "month"),
                        ("month=2026-11%0a", "month"), ("month=1999-12", "month"),
                        ("month=2026-11&commune=Ph%C3%BA", "commune"), ("month=2026-11&province=-1", "province"),
                        ("month=2026-11&commune=", "not empty")):  # fmt: skip
        r = report(months, login, query=query, openapi=openapi)
        assert r.status_code == 400 and word in r.json["reason"], (query, r.json)
    client = months.test_client()
    login(client, "tinh")
    for path in ("/reports/monthly", "/reports/monthly.xlsx", "/reports/monthly.pdf"):
        r = client.get(f"{path}?month=2026-13")
        assert r.status_code == 400 and "month must be YYYY-MM" in r.get_data(as_text=True), path
    assert client.get("/reports/monthly?scope=nothing%3D1").status_code == 400


def test_the_page_says_the_figures_and_the_changes_in_words(months, login):
    client = months.test_client()
    login(client, "tinh")
    assert 'href="/reports/monthly"' in client.get("/").get_data(as_text=True)  # in the menu
    page = client.get("/reports/monthly?month=2026-11").get_data(as_text=True)
    assert "Báo cáo tháng 11/2026" in page and "So với tháng 10/2026" in page
    assert "1.400" in page  # the total issued, Vietnamese thousands
    assert "▲ tăng 400" in page and "▼ giảm 10 · tốt hơn" in page  # Phú Định's tickets and no-shows
    assert "chưa có tháng trước" in page  # the satellite had no October
    r = client.get("/reports/monthly?month=2026-11&scope=commune%3D27427")
    assert r.status_code == 302 and r.headers["Location"].endswith("/reports/monthly?month=2026-11&commune=27427")


@pytest.mark.parametrize("server_db", ["sqlite"], indirect=True)
def test_the_workbook_holds_the_figures_as_numbers(months, login):
    client = months.test_client()
    login(client, "tinh")
    r = client.get("/reports/monthly.xlsx?month=2026-11&province=79")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="hangcho-bao-cao-thang-2026-11-province-79.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["Tổng hợp", "Theo tỉnh", "Theo xã, phường", "Theo điểm"]
    summary = {row[0]: row[1:] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Số phát"] == (1390, 920, "▲ tăng 470")
    assert summary["Hồ sơ tiếp nhận"][:2] == (1290, 870)
    sites = book["Theo điểm"]
    assert sites.freeze_panes == "D2"
    header = [c.value for c in sites[1]]
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in sites.iter_rows(min_row=2, values_only=True)}
    phu_dinh = rows["Trung tâm PVHCC phường Phú Định"]
    assert phu_dinh["Hồ sơ tiếp nhận"] == 1200 and phu_dinh["Hồ sơ tiếp nhận tháng trước"] == 850
    assert phu_dinh["Hồ sơ tiếp nhận chênh lệch"] == 350 and phu_dinh["Quầy mở mỗi ngày"] == 2.5
    satellite = rows["Điểm tiếp nhận Phú Định 2"]  # no October: 0 tickets then, no change to show
    assert satellite["Số phát tháng trước"] == 0 and satellite["Số phát chênh lệch"] is None  # blank, not "–"
    assert satellite["Hài lòng (1–5)"] is None  # nobody rated
    assert sites.column_dimensions["A"].width >= len("Trung tâm PVHCC phường Vũng Tàu")
    audit = client.get("/audit").get_data(as_text=True)
    assert "monthly xlsx 2026-11 province 79" in audit


def test_the_pdf_is_vietnamese_with_its_figures(months, login):
    client = months.test_client()
    login(client, "tinh")
    r = client.get("/reports/monthly.pdf?month=2026-11&commune=27427")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.data))
    words = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())  # a cell's lines wrap
    assert "Báo cáo tháng 11/2026 · Phường Phú Định (Thành phố Hồ Chí Minh, mã 27427)" in words
    for phrase in ("Hồ sơ tiếp nhận", "Giải quyết tại chỗ (%)", "Vắng mặt khi gọi", "Chờ quá ngưỡng (%)",
                   "Quầy mở mỗi ngày", "Điểm tiếp nhận Phú Định 2", "tốt hơn", "chưa có tháng trước"):  # fmt: skip
        assert phrase in words, phrase
    assert "1.360" in words  # tickets issued in the commune, as Vietnamese write it
    fonts = [f.get_object() for page in pdf.pages for f in page["/Resources"]["/Font"].values()]
    embedded = {str(f["/BaseFont"]).split("+")[-1] for f in fonts if "/FontFile2" in f.get("/FontDescriptor", {})}
    assert embedded == {"DejaVuSans", "DejaVuSans-Bold"}  # in the file: a printer without them prints the same


def test_waits_over_a_threshold_read_off_the_bins():
    hist = [0] * (len(WAIT_EDGES_MIN) + 1)
    hist[9], hist[8] = 10, 4  # 10 waits of 20–25 min, 4 of 15–20
    assert monthly.waits_over(hist, 20) == 10
    assert monthly.waits_over(hist, 22.5) == 5  # half of the bin it falls inside
    assert monthly.waits_over(hist, 15) == 14 and monthly.waits_over(hist, 25) == 0
    hist[-1] = 2  # over 240 min: counted up to twice its edge
    assert monthly.waits_over(hist, 300) == 2 * (480 - 300) / 240
    assert monthly.waits_over(None, 20) == 0


def test_a_month_and_the_one_before():
    m = monthly.parse_month("2026-01")
    assert (m.first, m.last, m.previous().key) == ("2026-01-01", "2026-01-31", "2025-12")
    assert m.previous().last == "2025-12-31"
    assert monthly.parse_month("2028-02").last == "2028-02-29"
    assert monthly.last_complete(monthly.date(2026, 12, 4)).key == "2026-11"
    for bad in ("2026-13", "2026-00", "26-01", "2026-1", "2026-01-01", "2026-01\n", ""):
        with pytest.raises(ValueError, match="month must be YYYY-MM"):
            monthly.parse_month(bad)
