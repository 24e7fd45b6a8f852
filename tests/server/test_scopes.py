"""Scoped roles, on SQLite and PostgreSQL: each role sees exactly its scope on every route, a
table of role × route that fails when a route is added to the app without a line here; the
nation's overview rolls up per province; `add-user` refuses inconsistent roles with one line."""

from __future__ import annotations

import csv
import io
import re
import time

import openpyxl
import pytest

from contracts.sync import empty_bucket, empty_snapshot
from server import accounts, migrations

from .conftest import PASSWORD
from .test_dashboard import DAY, sync

HCM, DONG_NAI = 79, 75
PLACED = [  # id, name, commune code, site, tickets issued on DAY
    ("hcm-phu-dinh", "Trung tâm PVHCC phường Phú Định", 27427, "main", 11),
    ("hcm-phu-dinh-2", "Điểm tiếp nhận Phú Định 2", 27427, "Điểm 2", 13),
    ("hcm-vung-tau", "Trung tâm PVHCC phường Vũng Tàu", 26506, "main", 17),
    ("dn-tan-phu", "Trung tâm PVHCC Đồng Nai, xã Tân Phú", 26116, "main", 19),
]
UNPLACED = {"xa-tan-phu": 2, "xa-tan-phu-diem-2": 3, "xa-an-binh": 5}  # conftest's, in free-text wards
ISSUED = {c[0]: c[4] for c in PLACED} | UNPLACED
USERS = [  # name, role, province, commune, center (besides conftest's tinh, admin = national, and lan, staff)
    ("so-hcm", "province", "Hồ Chí Minh", None, None),
    ("so-dn", "province", str(DONG_NAI), None, None),
    ("phu-dinh", "commune", None, "27427", None),
    ("vung-tau", "commune", None, "Vũng Tàu", None),
    ("hoa", "staff", None, None, "hcm-vung-tau"),
]
SEES = {  # who -> the centers in their scope
    "tinh": set(ISSUED),
    "so-hcm": {"hcm-phu-dinh", "hcm-phu-dinh-2", "hcm-vung-tau"},
    "phu-dinh": {"hcm-phu-dinh", "hcm-phu-dinh-2"},
    "lan": {"xa-an-binh"},
}
MANAGES = {  # who -> the users /users lists (None: the page does not exist for them)
    "tinh": {"tinh", "lan", *(u[0] for u in USERS)},
    "so-hcm": {"so-hcm", "phu-dinh", "vung-tau", "hoa"},
    "phu-dinh": {"phu-dinh"},
    "lan": None,
}


@pytest.fixture
def country(server_app):
    """conftest's three free-text centers, four placed in two provinces, a user of each role, and a
    day's tickets at every center (a different count each, so that any sum tells whose it is)."""
    with server_app.extensions["hangcho.engine"].begin() as conn:
        for center_id, name, commune, site, _ in PLACED:
            accounts.add_center(conn, center_id, name, site=site, commune=commune)
            server_app.tokens[center_id] = accounts.add_gateway(conn, center_id)
        for name, role, province, commune, center in USERS:
            accounts.add_user(conn, name, PASSWORD, role, center, province, commune)
    now = time.time()
    for center_id, issued in ISSUED.items():
        bucket = empty_bucket(DAY, 9, "A") | {"issued": issued, "called": issued, "wait_sum_s": 60 * issued,
                                              "wait_hist": [issued] + [0] * 22}  # fmt: skip
        snapshot = empty_snapshot(now, DAY) | {"waiting": [{"service": "A", "name": "Chứng thực", "count": 1,
                                                            "longest_wait_s": 60}]}  # fmt: skip
        sync(server_app, center_id, {"seq": 1, "buckets": [bucket], "snapshot": snapshot})
    return server_app


# -- each route: what a user of this scope gets ----------------------------------------------------------------------
def hidden_like_unknown(client, path: str) -> None:
    """`path` (a center or a part of the hierarchy outside the scope) is answered as one that is not there."""
    unknown = re.sub(r"(centers/|center=)[a-z0-9-]+", r"\1nowhere", path)
    unknown = re.sub(r"(province|commune)=\d+", r"\1=99999", unknown)
    got, missing = client.get(path), client.get(unknown)
    assert got.status_code == missing.status_code == 404, (path, got.status_code, missing.status_code)
    assert got.get_data() == missing.get_data(), path


def each_center(client, sees: set[str], path: str) -> None:
    for center_id in ISSUED:
        url = path.format(center_id)
        if center_id in sees:
            assert client.get(url).status_code == 200, url
        else:
            hidden_like_unknown(client, url)


def province_focus(client, who: str, path: str) -> None:
    """?province= and ?commune=: within the scope 200, outside it as unknown."""
    for query, allowed in ((f"province={HCM}", {"tinh", "so-hcm"}), (f"province={DONG_NAI}", {"tinh"}),
                           ("commune=27427", {"tinh", "so-hcm", "phu-dinh"}), ("commune=26116", {"tinh"})):  # fmt: skip
        url = f"{path}{'&' if '?' in path else '?'}{query}"
        if who in allowed:
            assert client.get(url).status_code == 200, url
        else:
            hidden_like_unknown(client, url)


def overview_page(client, who, sees):
    assert client.get("/").status_code == 200
    province_focus(client, who, "/")


def overview_json(client, who, sees):
    body = client.get(f"/api/v1/overview?from={DAY}").json
    listed = {r["id"] for r in body["centers"]}
    assert body["total"]["centers"] == len(sees) and body["total"]["issued"] == sum(ISSUED[i] for i in sees)
    if who == "tinh":  # the nation: its 34 provinces, each with its own total; the free-text centers apart
        assert body["scope"]["level"] == "nation" and listed == set(UNPLACED)
        provinces = {p["code"]: p for p in body["provinces"]}
        assert len(provinces) == 34 and sum(p["centers"] for p in provinces.values()) == len(PLACED)
        assert (provinces[HCM]["issued"], provinces[DONG_NAI]["issued"], provinces[1]["issued"]) == (41, 19, 0)
        hcm = client.get(f"/api/v1/overview?from={DAY}&province={HCM}").json
        assert {r["id"] for r in hcm["centers"]} == SEES["so-hcm"] and hcm["total"]["issued"] == 41
    else:
        assert listed == sees and body["provinces"] is None
    province_focus(client, who, f"/api/v1/overview?from={DAY}")


def center_page(client, who, sees):
    each_center(client, sees, "/centers/{}")


def center_json(client, who, sees):
    each_center(client, sees, f"/api/v1/centers/{{}}?from={DAY}")


def days_page(client, who, sees):
    html = client.get(f"/days?from={DAY}").get_data(as_text=True)
    assert set(re.findall(r'<option value="([a-z0-9-]+)"', html)) == sees
    each_center(client, sees, f"/days?from={DAY}&center={{}}")
    province_focus(client, who, f"/days?from={DAY}")


def days_json(client, who, sees):
    assert client.get(f"/api/v1/days?from={DAY}").json["total"]["issued"] == sum(ISSUED[i] for i in sees)
    each_center(client, sees, f"/api/v1/days?from={DAY}&center={{}}")
    province_focus(client, who, f"/api/v1/days?from={DAY}")


def compare_page(client, who, sees):
    html = client.get(f"/compare?from={DAY}").get_data(as_text=True)
    assert set(re.findall(r'href="/centers/([a-z0-9-]+)\?', html)) == sees
    assert f"({len(sees)} trung tâm)" in html  # the service's count of centers: in scope only
    province_focus(client, who, f"/compare?from={DAY}")


def export_csv(client, who, sees):
    header, *rows = list(csv.reader(io.StringIO(client.get(f"/export.csv?from={DAY}").get_data(as_text=True))))
    issued = header.index("Số phát")
    assert {r[0] for r in rows} == sees and sum(int(r[issued]) for r in rows) == sum(ISSUED[i] for i in sees)
    province_focus(client, who, f"/export.csv?from={DAY}")


def export_xlsx(client, who, sees):
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/export.xlsx?from={DAY}").get_data())).active
    assert {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == sees
    province_focus(client, who, f"/export.xlsx?from={DAY}")


def audit_page(client, who, sees):
    assert client.get("/audit").status_code == (200 if who == "tinh" else 404)


def users_page(client, who, sees):
    page = client.get("/users")
    if MANAGES[who] is None:
        assert page.status_code == 404
        return
    assert set(re.findall(r'<tr data-user="([^"]+)"', page.get_data(as_text=True))) == MANAGES[who]


def user_changes(client, who, sees):
    """Disable, enable, a new password: a user outside the scope (or above one's level) is not there."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/compare").get_data(as_text=True)).group(1)
    for target in ("tinh", "so-dn", "hoa", "nobody"):
        if MANAGES[who] is not None and target in MANAGES[who]:
            continue  # what a manager may do to a user of its scope is tests/server/test_users_page.py's
        for action in ("disable", "enable", "password"):
            got = client.post(f"/users/{target}/{action}", data={"csrf": csrf, "password": "x" * 12})
            assert got.status_code == 404, (target, action, got.status_code)


def monthly_json(client, who, sees):
    body = client.get(f"/api/v1/reports/monthly?month={DAY[:7]}").json
    assert {c["id"] for c in body["centers"]} == sees
    assert body["total"]["now"]["issued"] == sum(ISSUED[i] for i in sees)
    each_center(client, sees, f"/api/v1/reports/monthly?month={DAY[:7]}&center={{}}")


def monthly_page(client, who, sees):
    each_center(client, sees, f"/reports/monthly?month={DAY[:7]}&center={{}}")


def monthly_files(client, who, sees):
    for kind in ("xlsx", "pdf"):
        each_center(client, sees, f"/reports/monthly.{kind}?month={DAY[:7]}&center={{}}")


SCOPED = {
    "/": overview_page,
    "/api/v1/reports/monthly": monthly_json,
    "/reports/monthly": monthly_page,
    "/reports/monthly.xlsx": monthly_files,
    "/reports/monthly.pdf": monthly_files,
    "/api/v1/overview": overview_json,
    "/centers/<center_id>": center_page,
    "/api/v1/centers/<center_id>": center_json,
    "/days": days_page,
    "/api/v1/days": days_json,
    "/compare": compare_page,
    "/export.csv": export_csv,
    "/export.xlsx": export_xlsx,
    "/audit": audit_page,
    "/users": users_page,
    "/users/<username>/disable": user_changes,
    "/users/<username>/enable": user_changes,
    "/users/<username>/password": user_changes,
}
UNSCOPED = {  # routes that show no center's figures to a user, and why
    "/api/v1/sync": "a gateway's token writes its own center only (tests/server/test_sync_api.py)",
    "/c/<center_id>/t/<day>/<ticket>": "a citizen's ticket, no login and no figures (test_dashboard.py)",
    "/c/<center_id>/t/<day>/<ticket>.json": "the same, as JSON",
    "/login": "logging in",
    "/logout": "logging out",
    "/lang/<code>": "the language",
    "/api/v1/openapi.json": "the API's document",
    "/favicon.ico": "the icon",
    "/static/<path:filename>": "scripts and styles",
}


def test_every_route_is_in_the_table(server_app):
    rules = {rule.rule for rule in server_app.url_map.iter_rules()}
    assert rules - set(SCOPED) - set(UNSCOPED) == set(), "a new route: say in SCOPED what each role sees there"
    assert set(SCOPED) | set(UNSCOPED) <= rules, "a route this table names is gone"


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_sees_exactly_its_scope_on_every_route(country, login, who):
    client = country.test_client()
    assert login(client, who).status_code == 302
    failed = []
    for route, check in SCOPED.items():
        try:
            check(client, who, SEES[who])
        except AssertionError as e:
            failed.append(f"{route}: {e}")
    assert not failed, f"{who}:\n" + "\n".join(failed)


def test_the_roll_ups_total_rows_and_their_words(country, login):
    """The nation's row is its provinces' sum; a province's is its communes'; each in its word."""
    client = country.test_client()
    login(client, "tinh")
    nation = client.get(f"/api/v1/overview?from={DAY}").json
    assert nation["total"]["issued"] == sum(p["issued"] for p in nation["provinces"]) + sum(UNPLACED.values())
    assert "Toàn quốc" in client.get("/").get_data(as_text=True)
    city = client.get(f"/?province={HCM}").get_data(as_text=True)
    assert "Toàn thành phố" in city and "Thành phố Hồ Chí Minh" in city and 'href="/">' in city  # back up
    province = country.test_client()
    login(province, "so-hcm")
    body = province.get(f"/api/v1/overview?from={DAY}").json
    assert body["scope"] == {"level": "province", "code": HCM, "name": "Thành phố Hồ Chí Minh", "province_code": None}
    assert {w["ward"]: w["issued"] for w in body["wards"]} == {"Phường Phú Định": 24, "Phường Vũng Tàu": 17}
    assert body["total"]["issued"] == 41
    ward = province.get(f"/api/v1/overview?from={DAY}&commune=27427").json
    assert ward["total"]["issued"] == 24 and ward["scope"]["province_code"] == HCM
    assert "Toàn phường" in province.get("/?commune=27427").get_data(as_text=True)
    commune = country.test_client()
    login(commune, "phu-dinh")
    assert "Toàn phường" in commune.get("/").get_data(as_text=True)
    assert commune.get(f"/api/v1/overview?from={DAY}").json["total"]["issued"] == 24
    staff = country.test_client()
    login(staff, "lan")
    html = staff.get("/").get_data(as_text=True)
    assert "Trung tâm PVHCC xã An Bình" in html and "Cả trung tâm" in html and "Quay lên" not in html
    assert "Quay lên" not in province.get("/").get_data(as_text=True)  # its whole scope: nowhere further up


def test_migration_10_makes_the_admins_national_and_keeps_staff(server_db):
    """A database of step 8 with an admin and a staff user, upgraded: the admin sees every center."""
    from sqlalchemy import create_engine, text

    from server.migrations import upgrade

    engine = create_engine(server_db)
    with engine.begin() as conn:  # the users table as step 5 left it, with its rows; the other steps then run
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, "
                          "password_hash TEXT NOT NULL, role VARCHAR(16) NOT NULL, center_id VARCHAR(64), "
                          "created_at DOUBLE PRECISION NOT NULL, "
                          "disabled BOOLEAN NOT NULL DEFAULT FALSE)"))  # fmt: skip
        conn.execute(text("INSERT INTO users VALUES (1, 'old-admin', 'x', 'admin', NULL, 0, FALSE), "
                          "(2, 'old-staff', 'x', 'staff', 'xa-an-binh', 0, FALSE)"))  # fmt: skip
    assert any(name.startswith("10:") for name in upgrade(engine))
    assert migrations.current(engine) == migrations.LATEST
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username, role, center_id, province_code FROM users ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("old-admin", "national", None, None),
                                        ("old-staff", "staff", "xa-an-binh", None)]  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--role", "province"], "give --province"),
        (["--role", "province", "--province", "Hồ Chí Mnh"], "gần nhất (closest): Thành phố Hồ Chí Minh (mã 79)"),
        (["--role", "province", "--province", "99"], "no province with code 99"),
        (["--role", "commune", "--commune", "Phú Địnhh"], "Phường Phú Định (Thành phố Hồ Chí Minh, mã 27427)"),
        (["--role", "commune", "--commune", "27427", "--province", "79"], "leave out --province"),
        (["--role", "national", "--center", "xa-tan-phu"], "leave out --center"),
        (["--role", "staff", "--province", "79"], "leave out --province"),
        (["--role", "staff", "--center", "nowhere"], "no center 'nowhere'"),
        (["--role", "mayor"], "'mayor' is not one of"),
    ],
)
def test_add_user_refuses_an_inconsistent_role_in_one_line(server_app, server_cli, args, said):
    done = server_cli("add-user", "moi", *args, "--password", PASSWORD)
    assert done.exit_code != 0 and said in done.output, done.output
    if "mayor" not in args:  # click's own usage error aside: one line
        assert len(done.output.strip().splitlines()) == 1, done.output


def test_add_user_places_each_role(server_app, server_cli, login):
    for name, *args in (("quoc", "--role", "national"),
                        ("so", "--role", "province", "--province", "Hồ Chí Minh"),
                        ("xa", "--role", "commune", "--commune", "Tân Phú, Đồng Nai"),
                        ("cu", "--role", "admin")):  # fmt: skip
        done = server_cli("add-user", name, *args, "--password", PASSWORD)
        assert done.exit_code == 0 and f"user {name} added" in done.output, done.output
    with server_app.extensions["hangcho.engine"].connect() as conn:
        found = {u: accounts.authenticate(conn, u, PASSWORD) for u in ("quoc", "so", "xa", "cu")}
    assert [(u.role, u.province_code, u.commune_code) for u in found.values()] == [
        ("national", None, None), ("province", HCM, None), ("commune", DONG_NAI, 26116),
        ("national", None, None)]  # fmt: skip
