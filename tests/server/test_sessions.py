"""Sessions and logins as an attacker meets them (SQLite and PostgreSQL): a cookie copied before
logout, a disabled user, a new password, idle and absolute expiry, a stranger guessing at the
admin's name, one address guessing at many names, and the headers and cookie flags."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from server import schema, throttle, web_sessions
from server.app import close, create_app
from server.settings import Settings

from .conftest import PASSWORD

DAY = "2026-11-23"


def logged_in(client) -> bool:
    return client.get(f"/api/v1/overview?from={DAY}").status_code == 200


def copy_of(client, app):
    """Another browser holding the same session cookie (stolen, or kept from before a logout)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def logout(client):
    page = client.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/logout", data={"csrf": csrf})


def test_a_cookie_kept_from_before_logout_is_worth_nothing(server_app, login):
    client = server_app.test_client()
    assert login(client, "tinh").status_code == 302
    thief = copy_of(client, server_app)
    assert logged_in(thief)  # the same session, while it lasts
    assert logout(client).status_code == 302
    assert not logged_in(client) and not logged_in(thief)


CHANGES = [
    ["disable-user", "tinh"],
    ["set-password", "tinh", "--password", "mật-khẩu-mới-dài"],
    ["remove-user", "tinh"],
]


@pytest.mark.parametrize("command", CHANGES, ids=["disable", "new password", "remove"])
def test_disabling_a_user_or_a_new_password_ends_every_session(server_app, login, server_cli, command):
    browsers = [server_app.test_client() for _ in range(2)]
    for b in browsers:
        assert login(b, "tinh").status_code == 302
    done = server_cli(*command)
    assert done.exit_code == 0 and "2 sessions ended" in done.output, done.output
    assert not any(logged_in(b) for b in browsers)
    again = login(server_app.test_client(), "tinh")
    assert again.status_code == 401
    if command[0] == "disable-user":
        enabled = server_cli("enable-user", "tinh")
        assert enabled.exit_code == 0 and login(server_app.test_client(), "tinh").status_code == 302
    if command[0] == "set-password":
        assert login(server_app.test_client(), "tinh", "mật-khẩu-mới-dài").status_code == 302


def test_an_unknown_user_is_one_line(server_cli):
    done = server_cli("disable-user", "ai-do")
    assert done.exit_code == 1 and "no user 'ai-do'" in done.output


@pytest.mark.parametrize("expiry", ["idle", "absolute"])
def test_a_session_ends_when_idle_and_after_its_absolute_lifetime(server_app, login, expiry):
    import time

    client = server_app.test_client()
    login(client, "tinh")
    now = time.time()
    if expiry == "idle":  # 31 minutes without a request
        values = {"seen_at": now - web_sessions.IDLE_S - 60}
    else:  # busy all along (seen a moment ago), but logged in 12 hours and a minute ago
        values = {"seen_at": now - 5, "created_at": now - web_sessions.ABSOLUTE_S - 60}
    with server_app.extensions["hangcho.engine"].begin() as conn:
        conn.execute(update(schema.web_sessions).values(**values))
    assert not logged_in(client)


def test_a_stranger_guessing_at_the_admin_does_not_lock_the_admin_out(server_app, login):
    """The admin logged in from their office before (their browser holds a device cookie). A
    stranger on another address tries 30 wrong passwords: after five each try must wait longer,
    and refused tries are not even checked. The admin's own browser logs in at once all along;
    a new browser for the name waits like the stranger."""
    office = server_app.test_client()
    assert login(office, "tinh", address="10.1.0.7").status_code == 302
    logout(office)
    stranger = server_app.test_client()
    answers = [login(stranger, "tinh", f"đoán-mò-{n}", address="203.0.113.9").status_code for n in range(30)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    right_but_too_soon = login(stranger, "tinh", address="203.0.113.9")
    assert right_but_too_soon.status_code == 429, "the right password is not checked while the name waits"
    assert login(office, "tinh", address="10.1.0.7").status_code == 302  # the admin's own browser
    assert logged_in(office)
    assert login(server_app.test_client(), "tinh", address="10.1.0.8").status_code == 429  # a new one waits


def test_one_address_guessing_at_many_names_is_slowed(server_app, login):
    client = server_app.test_client()
    answers = [login(client, f"ten-{n}", "sai-mật-khẩu", address="198.51.100.4").status_code for n in range(25)]
    assert answers[: throttle.FREE["address"]] == [401] * throttle.FREE["address"]
    assert answers[-1] == 429
    assert login(server_app.test_client(), "lan", address="198.51.100.5").status_code == 302  # another address


def test_the_delay_grows_with_each_failure_and_is_capped():
    waits = [throttle.delay_s("user", n) for n in range(4, 16)]
    assert waits[:4] == [0.0, 1.0, 2.0, 4.0] and waits == sorted(waits) and waits[-1] == throttle.MAX_DELAY_S


def test_pages_carry_a_csp_and_https_gets_hsts(server_app, login):
    client = server_app.test_client()
    r = client.get("/login")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: the header would mean nothing
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    login(client, "tinh")
    assert "<script>" not in client.get("/").get_data(as_text=True)  # words ride as JSON, not inline script


def test_behind_the_proxy_cookies_are_secure_and_the_address_is_the_clients(server_db):
    app = create_app(Settings(database_url=server_db, secret_key="test", proxy_hops=1))
    with app.extensions["hangcho.engine"].begin() as conn:
        from server import accounts

        accounts.add_user(conn, "tinh", PASSWORD, "admin")
    client = app.test_client()
    proxied = {"X-Forwarded-For": "192.0.2.44", "X-Forwarded-Proto": "https"}
    page = client.get("/login", headers=proxied).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "tinh", "password": PASSWORD, "csrf": csrf}, headers=proxied)
    assert r.status_code == 302
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies
    assert r.headers["Strict-Transport-Security"]
    with app.extensions["hangcho.engine"].connect() as conn:
        from sqlalchemy import select

        assert conn.execute(select(schema.web_sessions.c.address)).scalars().all() == ["192.0.2.44"]
    close(app)
