"""Two server nodes (gunicorn) behind nginx on one PostgreSQL, as a province runs them: started
together on an empty database they migrate once; a login, its CSRF token and its logout hold on
either node; the throttle counts a guesser's tries wherever they land; a revoked gateway token
stops working on every node within 30 s."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import text

from contracts.sync import empty_snapshot
from rig.gunicorn import Gunicorn
from rig.proxy import ServerProxy
from server import accounts, migrations, throttle
from server.db import engine_for

PASSWORD = "mật-khẩu-đủ-dài"
BEHIND_NGINX = "proxy_hops = 1\n"


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def log_in(session: requests.Session, base: str, name: str, password: str) -> requests.Response:
    form = session.get(base + "/login")
    return session.post(base + "/login", data={"username": name, "password": password, "csrf": csrf(form.text)},
                        allow_redirects=False)  # fmt: skip


def sync(url: str, token: str, seq: int) -> int:
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    body = {"center": "test", "seq": seq, "snapshot": empty_snapshot(time.time(), today)}
    r = requests.post(url + "/api/v1/sync", data=json.dumps(body), timeout=10,
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    return r.status_code


def test_two_nodes_behind_nginx_behave_as_one(postgres_db, tmp_path):
    a = Gunicorn(postgres_db, tmp_path / "a", "one-secret", workers=2, settings=BEHIND_NGINX)
    b = Gunicorn(postgres_db, tmp_path / "b", "one-secret", workers=2, settings=BEHIND_NGINX)
    with a, b:  # both started at once on an empty database: one migrates, the others wait for it
        engine = engine_for(postgres_db)
        with engine.connect() as conn:
            steps = conn.execute(text("SELECT version, count(*) FROM schema_version GROUP BY version")).all()
        assert sorted(steps) == [(v, 1) for v, _, _ in migrations.MIGRATIONS]
        with engine.begin() as conn:
            accounts.add_center(conn, "test", "Trung tâm thử nghiệm", "Phường Thử")
            accounts.add_user(conn, "tinh", PASSWORD, "admin")
        proxy = ServerProxy([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], tmp_path / "nginx")
        try:
            leader = requests.Session()
            leader.trust_env = False  # REQUESTS_CA_BUNDLE would replace the proxy's CA
            leader.verify = str(proxy.ca)
            assert log_in(leader, proxy.https, "tinh", PASSWORD).status_code == 302
            cookie = next(c for c in leader.cookies if c.name == "session")
            assert cookie.secure, "behind the proxy the session cookie is Secure"
            for _ in range(6):  # spread over both nodes: the session is the database's, not a node's
                assert "Các trung tâm" in leader.get(proxy.https + "/").text
            page = leader.get(proxy.https + "/").text
            a.__exit__()  # one node goes: the other carries on with the same session and CSRF token
            assert "Các trung tâm" in leader.get(proxy.https + "/").text
            out = leader.post(proxy.https + "/logout", data={"csrf": csrf(page)}, allow_redirects=False)
            assert out.status_code == 302
            stale = leader.get(proxy.https + "/", cookies={cookie.name: cookie.value}, allow_redirects=False)
            assert stale.status_code == 302 and "/login" in stale.headers["Location"]  # logged out on every node
        finally:
            proxy.stop()
        engine.dispose()


def guess(node: Gunicorn, n: int) -> int:
    """A wrong password sent straight to one node, as from 10.9.9.9 through the proxy."""
    via = {"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"}
    form = requests.get(node.url + "/login", headers=via, timeout=10)
    wrong = {"username": "tinh", "password": f"sai-{n}", "csrf": csrf(form.text)}
    r = requests.post(node.url + "/login", data=wrong, cookies={"session": form.cookies["session"]}, headers=via,
                      allow_redirects=False, timeout=10)  # fmt: skip
    return r.status_code


def test_a_guesser_and_a_revoked_token_meet_every_node(postgres_db, tmp_path):
    """Straight at the nodes (the proxy only chooses between them): what one node learnt, the other knows."""
    a = Gunicorn(postgres_db, tmp_path / "a", "one-secret", settings=BEHIND_NGINX)
    b = Gunicorn(postgres_db, tmp_path / "b", "one-secret", settings=BEHIND_NGINX)
    with a, b:
        engine = engine_for(postgres_db)
        with engine.begin() as conn:
            accounts.add_center(conn, "test", "Trung tâm thử nghiệm", "Phường Thử")
            token = accounts.add_gateway(conn, "test")
            accounts.add_user(conn, "tinh", PASSWORD, "admin")
        # A guesser's tries alternate between the nodes (as nginx may send them, from one address):
        # the count is the database's, so the sixth is held back although each node saw only three.
        answers = [guess(node, n) for n, node in zip(range(throttle.FREE["user"] + 1), [a, b] * 9, strict=False)]
        assert answers == [401] * throttle.FREE["user"] + [429], answers
        assert [sync(n.url, token, s) for s, n in enumerate((a, b), start=1)] == [200, 200]
        with engine.begin() as conn:
            assert accounts.revoke_gateway(conn, token.partition(".")[0])
        revoked, deadline = time.monotonic(), time.monotonic() + 30.0  # the promise (docs/server.md)
        refused: set[str] = set()
        while refused != {"a", "b"}:
            assert time.monotonic() < deadline, f"the revoked token still works on { ({'a', 'b'} - refused) }"
            for name, node in (("a", a), ("b", b)):
                if name not in refused and sync(node.url, token, 9) == 401:
                    refused.add(name)
            time.sleep(0.5)
        print(f"revoked token refused on both nodes after {time.monotonic() - revoked:.1f} s")
        engine.dispose()


def test_proxy_conf_prints_what_nginx_takes(server_cli, tmp_path):
    """The deployment's nginx.conf from the command: both nodes, and nginx itself finds it valid."""
    import shutil
    import subprocess

    from gateway.pki import ensure_ca, issue

    tls = issue(ensure_ca(tmp_path, "province"), tmp_path, "web", ["127.0.0.1"])
    r = server_cli("proxy-conf", "--node", "10.0.0.11:8000", "--node", "10.0.0.12:8000", "--cert", str(tls.cert),
                   "--key", str(tls.key), "--listen", "127.0.0.1:8443", "--http", "127.0.0.1:8080")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "server 10.0.0.11:8000 max_fails" in r.output and "server 10.0.0.12:8000 max_fails" in r.output
    conf = tmp_path / "nginx.conf"  # its run-time paths moved here: `nginx -t` opens them
    (tmp_path / "temp").mkdir()
    conf.write_text(r.output.replace("user www-data;", "").replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
                    .replace("/var/lib/nginx", str(tmp_path / "temp"))
                    .replace("/var/log/nginx/error.log", str(tmp_path / "error.log")))  # fmt: skip
    checked = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-c", str(conf)], capture_output=True,
                             text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    bad = server_cli("proxy-conf", "--node", "nowhere", "--cert", "c", "--key", "k")
    assert bad.exit_code == 2 and "is not HOST:PORT" in bad.output
