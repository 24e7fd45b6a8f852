"""The central server under test: an app on SQLite or PostgreSQL with two wards' centers,
their gateway tokens and users, and a check of responses against the OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from server import accounts
from server.app import close, create_app
from server.settings import Settings

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "server" / "openapi.json").read_text())
PASSWORD = "mật-khẩu-đủ-dài"
CENTERS = [
    ("xa-tan-phu", "Trung tâm PVHCC xã Tân Phú", "Tân Phú", "main"),
    ("xa-tan-phu-diem-2", "Điểm tiếp nhận Tân Phú 2", "Tân Phú", "Điểm 2"),
    ("xa-an-binh", "Trung tâm PVHCC xã An Bình", "An Bình", "main"),
]


@pytest.fixture
def server_app(server_db):
    app = create_app(Settings(database_url=server_db, secret_key="test", stale_after_s=60, wait_p90_min=20))
    app.config["TESTING"] = True
    engine = app.extensions["hangcho.engine"]
    with engine.begin() as conn:
        for center_id, name, ward, site in CENTERS:
            accounts.add_center(conn, center_id, name, ward, site)
        app.tokens = {c[0]: accounts.add_gateway(conn, c[0]) for c in CENTERS}
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
        accounts.add_user(conn, "lan", PASSWORD, "staff", "xa-an-binh")
    yield app
    close(app)


def _operation(path: str, method: str) -> dict:
    for template, item in OPENAPI["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        if re.match(pattern, path):
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in server/openapi.json")


@pytest.fixture
def openapi():
    """openapi(response, path, method): the response's status is documented for the operation
    and its JSON body validates against the documented schema."""

    def check(response, path: str, method: str = "GET"):
        responses = _operation(path.split("?")[0], method)["responses"]
        assert str(response.status_code) in responses, f"{method} {path}: {response.status_code} is not documented"
        schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator({**schema, "components": OPENAPI["components"]}).validate(response.json)
        return response

    return check


@pytest.fixture
def login():
    """login(client, user[, password, address]): log a test client in through the form, with its
    CSRF token, from a client address (login throttling counts by address)."""

    def log_in(client, username: str, password: str = PASSWORD, address: str = "127.0.0.1"):
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        return client.post("/login", data={"username": username, "password": password, "csrf": csrf},
                           environ_base={"REMOTE_ADDR": address})  # fmt: skip

    return log_in


@pytest.fixture
def server_cli(server_db, tmp_path):
    """server_cli(*args) -> click Result: `hangcho-server` on the test database, its instance
    folder (the kept secret key) in tmp_path, never in the working tree."""
    from click.testing import CliRunner

    from server.cli import main

    env = {"HANGCHO_SERVER_DATABASE_URL": server_db, "HANGCHO_SERVER_INSTANCE": str(tmp_path / "instance")}
    return lambda *args: CliRunner().invoke(main, list(args), env=env)
