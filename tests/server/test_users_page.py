"""/users on SQLite and PostgreSQL: a province or commune user adds users within its scope and at
its level or below, and nowhere else; disabling and a new password end that user's sessions; every
change is a line of the audit log; every form needs its CSRF token."""

from __future__ import annotations

import re

from server import audit

from .conftest import PASSWORD
from .test_scopes import country  # noqa: F401  (a fixture)

NEW = "mật-khẩu-mới-đủ-dài"


def csrf(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/users").get_data(as_text=True)).group(1)


def add(client, **form):
    return client.post("/users", data={"csrf": csrf(client), "password": PASSWORD, **form})


def logged_in(app, login, who: str):
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client


def last_actions(app, n: int) -> list[tuple[str, str, str, str]]:
    with app.extensions["hangcho.engine"].connect() as conn:
        return [(r["action"], r["actor"], r["target"], r["detail"]) for r in reversed(audit.latest(conn, n))]


def test_a_province_adds_within_its_scope_and_at_or_below_its_level(country, login):  # noqa: F811
    so = logged_in(country, login, "so-hcm")
    page = so.get("/users").get_data(as_text=True)
    assert "Người dùng" in page and "Thêm người dùng" in page and "Cán bộ trung tâm" in page
    assert '<option value="national"' not in page  # above its level: not offered
    assert add(so, username="xa-moi", role="commune", commune="Phú Định").status_code == 302
    assert "Đã thêm người dùng xa-moi." in so.get("/users").get_data(as_text=True)
    assert add(so, username="cb-moi", role="staff", center="hcm-vung-tau").status_code == 302
    refused = {
        "national": add(so, username="x1", role="national"),
        "another province": add(so, username="x2", role="province", province="75"),
        "a commune elsewhere": add(so, username="x3", role="commune", commune="26116"),
        "a center elsewhere": add(so, username="x4", role="staff", center="dn-tan-phu"),
        "no such commune": add(so, username="x5", role="commune", commune="Phú Địnhh"),
    }
    for what, answer in refused.items():
        assert answer.status_code == 400, what
    said = {what: answer.get_data(as_text=True) for what, answer in refused.items()}
    assert "Không thực hiện được" in said["national"] and "may give province, commune, staff" in said["national"]
    assert "ngoài phạm vi của so-hcm" in said["another province"] and "ngoài phạm vi" in said["a commune elsewhere"]
    assert "no center &#39;dn-tan-phu&#39;" in said["a center elsewhere"]  # as for one that does not exist
    assert "gần nhất (closest)" in said["no such commune"]
    listed = set(re.findall(r'<tr data-user="([^"]+)"', so.get("/users").get_data(as_text=True)))
    assert {"xa-moi", "cb-moi"} <= listed and not {"x1", "x2", "x3", "x4", "x5"} & listed
    assert last_actions(country, 2) == [
        ("user_added", "so-hcm", "xa-moi", "role commune, commune_code 27427, province_code 79"),
        ("user_added", "so-hcm", "cb-moi", "role staff, center_id hcm-vung-tau"),
    ]
    assert login(country.test_client(), "xa-moi").status_code == 302


def test_a_commune_manages_its_own_sites_staff_only(country, login):  # noqa: F811
    xa = logged_in(country, login, "phu-dinh")
    assert add(xa, username="cb-2", role="staff", center="hcm-phu-dinh-2").status_code == 302
    assert add(xa, username="cb-3", role="staff", center="hcm-vung-tau").status_code == 400  # the next ward's
    assert add(xa, username="so-2", role="province", province="79").status_code == 400
    page = xa.get("/users").get_data(as_text=True)
    assert set(re.findall(r'<tr data-user="([^"]+)"', page)) == {"phu-dinh", "cb-2"}
    assert 'name="province"' not in page  # a commune user is never asked for a province


def test_disable_enable_and_a_new_password_end_sessions_and_are_logged(country, login):  # noqa: F811
    so = logged_in(country, login, "so-hcm")
    hoa = logged_in(country, login, "hoa")
    assert hoa.get("/").status_code == 200
    assert so.post("/users/hoa/disable", data={"csrf": csrf(so)}).status_code == 302
    assert "Đã khóa hoa; 1 phiên đã kết thúc." in so.get("/users").get_data(as_text=True)
    assert hoa.get("/").status_code == 302  # logged out at once
    assert login(country.test_client(), "hoa").status_code == 401
    assert so.post("/users/hoa/enable", data={"csrf": csrf(so)}).status_code == 302
    hoa = logged_in(country, login, "hoa")
    assert so.post("/users/hoa/password", data={"csrf": csrf(so), "password": "ngắn"}).status_code == 400
    assert hoa.get("/").status_code == 200  # a refused password changes nothing
    assert so.post("/users/hoa/password", data={"csrf": csrf(so), "password": NEW}).status_code == 302
    assert hoa.get("/").status_code == 302
    assert login(country.test_client(), "hoa").status_code == 401
    assert login(country.test_client(), "hoa", NEW).status_code == 302
    assert [a[:3] for a in last_actions(country, 20) if a[0].startswith(("user_", "password"))] == [
        ("user_disabled", "so-hcm", "hoa"), ("user_enabled", "so-hcm", "hoa"),
        ("password_set", "so-hcm", "hoa")]  # fmt: skip


def test_every_form_needs_its_csrf_token_and_nobody_disables_themselves(country, login):  # noqa: F811
    so = logged_in(country, login, "so-hcm")
    before = last_actions(country, 1)
    assert so.post("/users", data={"username": "x", "password": PASSWORD, "role": "staff",
                                   "center": "hcm-vung-tau"}).status_code == 400  # fmt: skip
    for action in ("disable", "enable", "password"):
        assert so.post(f"/users/hoa/{action}", data={"password": NEW}).status_code == 400
    assert last_actions(country, 1) == before
    assert login(country.test_client(), "hoa").status_code == 302  # still enabled, same password
    assert so.post("/users/so-hcm/disable", data={"csrf": csrf(so)}).status_code == 400
    assert so.get("/users").status_code == 200
