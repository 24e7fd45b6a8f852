"""The audit log (SQLite and PostgreSQL): logins ok and failed, user and token changes, a purge
and exports each leave one line with who, when and from where; the CLI prints it and the
admins, and only they, see it on a page."""

from __future__ import annotations

import pytest

from server import audit

DAY = "2026-11-23"


@pytest.fixture
def cli(server_cli):
    def run(*args):
        done = server_cli(*args)
        assert done.exit_code == 0, done.output
        return done.output

    return run


def actions(app) -> list[tuple[str, str, str, str]]:
    with app.extensions["hangcho.engine"].connect() as conn:
        return [(r["action"], r["actor"], r["address"], r["target"]) for r in reversed(audit.latest(conn))]


def test_each_act_leaves_one_line_with_who_and_from_where(server_app, login, cli):
    client = server_app.test_client()
    login(client, "tinh", "sai-mật-khẩu", address="203.0.113.9")
    login(client, "tinh", address="10.1.0.7")
    client.get(f"/export.csv?from={DAY}", environ_base={"REMOTE_ADDR": "10.1.0.7"})
    client.get(f"/export.xlsx?from={DAY}", environ_base={"REMOTE_ADDR": "10.1.0.7"})
    cli("add-user", "hoa", "--role", "staff", "--center", "xa-tan-phu", "--password", "mật-khẩu-đủ-dài")
    cli("disable-user", "hoa")
    cli("set-password", "lan", "--password", "mật-khẩu-mới-dài")
    gateway = server_app.tokens["xa-an-binh"].partition(".")[0]
    cli("revoke-gateway", gateway, "--purge-since", "2026-11-23")
    seen = actions(server_app)
    command = seen[-1][1]
    assert command.startswith("cli:")
    assert seen == [
        ("login_failed", "tinh", "203.0.113.9", ""),
        ("login", "tinh", "10.1.0.7", ""),
        ("exported", "tinh", "10.1.0.7", f"csv {DAY} – {DAY}"),
        ("exported", "tinh", "10.1.0.7", f"xlsx {DAY} – {DAY}"),
        ("user_added", command, "local", "hoa"),
        ("user_disabled", command, "local", "hoa"),
        ("password_set", command, "local", "lan"),
        ("gateway_revoked", command, "local", gateway),
        ("purged", command, "local", gateway),
    ]
    printed = cli("audit", "--limit", "3").splitlines()
    assert [line.split("\t")[3] for line in printed] == ["purged", "gateway_revoked", "password_set"]
    assert printed[0].split("\t")[0].endswith("+07:00") and "center xa-an-binh since 2026-11-23" in printed[0]


def test_the_admins_see_the_log_and_staff_do_not(server_app, login):
    admin = server_app.test_client()
    login(admin, "lan", "sai-mật-khẩu")
    login(admin, "tinh")
    page = admin.get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nhật ký hoạt động" in html and "Đăng nhập sai" in html and "lan" in html
    staff = server_app.test_client()
    login(staff, "lan")
    assert staff.get("/audit").status_code == 404
    assert "/audit" not in staff.get("/").get_data(as_text=True)
