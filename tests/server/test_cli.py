"""`hangcho-server`: the commands a province technician runs, against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.sync import check_batch, empty_bucket, empty_snapshot
from server.app import close, create_app
from server.cli import main
from server.settings import load


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_set_up_a_center_its_gateway_and_users(server_db, tmp_path):
    env = {"HANGCHO_SERVER_DATABASE_URL": server_db, "HANGCHO_SERVER_INSTANCE": str(tmp_path / "var")}
    first = run(env, "migrate")
    assert first.exit_code == 0 and "applied 1: initial tables" in first.output
    assert run(env, "migrate").output.strip() == "the database is up to date"
    r = run(env, "add-center", "xa-tan-phu", "--name", "Trung tâm PVHCC xã Tân Phú", "--ward", "Tân Phú")
    assert r.exit_code == 0, r.output
    again = run(env, "add-center", "xa-tan-phu", "--name", "x", "--ward", "y")
    assert again.exit_code == 1 and "center 'xa-tan-phu' already exists" in again.output
    token = run(env, "add-gateway", "xa-tan-phu").output.strip()
    assert run(env, "add-gateway", "nowhere").exit_code == 1

    app = create_app(load(env=env))
    snapshot_only = json.dumps(
        {"center": "xa-tan-phu", "snapshot": empty_snapshot(time.time(), time.strftime("%Y-%m-%d", time.gmtime()))}
    )
    bearer = {"Authorization": f"Bearer {token}"}
    push = app.test_client().post("/api/v1/sync", data=snapshot_only, headers=bearer, content_type="application/json")
    assert push.status_code == 200
    assert run(env, "revoke-gateway", token.split(".")[0]).exit_code == 0
    close(app)
    app = create_app(load(env=env))  # a worker that has not seen the token yet; others forget it within 30 s
    push = app.test_client().post("/api/v1/sync", data=snapshot_only, headers=bearer, content_type="application/json")
    assert push.status_code == 401

    pruned = run(env, "prune", "--days", "1")
    assert pruned.exit_code == 0 and "forgot 0 batch numbers older than 1 days" in pruned.output
    staff = run(env, "add-user", "lan", "--role", "staff", "--password", "mật-khẩu-đủ-dài")
    assert staff.exit_code == 1 and "give --center" in staff.output
    short = run(env, "add-user", "lan", "--role", "staff", "--center", "xa-tan-phu", "--password", "ngắn")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    ok = run(
        env, "add-user", "lan", "--role", "staff", "--center", "xa-tan-phu", input="mật-khẩu-đủ-dài\nmật-khẩu-đủ-dài\n"
    )
    assert ok.exit_code == 0 and "user lan added" in ok.output
    close(app)


def test_a_bad_settings_file_names_the_key(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text("stale_after_s = -5\n")
    r = run({"HANGCHO_SERVER_INSTANCE": str(tmp_path)}, "migrate", "--config", str(path))
    assert r.exit_code == 2 and f"{path}" in r.output and "stale_after_s" in r.output and "> 0" in r.output
    path.write_text('colour = "red"\n')
    assert "unknown key" in run({"HANGCHO_SERVER_INSTANCE": str(tmp_path)}, "migrate", "--config", str(path)).output


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:{port}/hangcho_missing_db", "'hangcho_missing_db' does not exist"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/hangcho", "cannot reach PostgreSQL at 127.0.0.1:1"),
        ("postgresql+psycopg://nobody_here@127.0.0.1:{port}/postgres", "refused user 'nobody_here'"),
        ("sqlite:////no/such/folder/server.db", "cannot open the SQLite database /no/such/folder/server.db"),
        ("mysql://root@localhost/hangcho", "must be sqlite:/// or postgresql"),
        ("postgresql+nosuchdriver://x:s3cret@localhost/y", "'postgresql+nosuchdriver://x:***@localhost/y' is not"),
    ],
)
def test_a_database_the_server_cannot_use_is_one_line_and_exit_2(postgres, tmp_path, url, said):
    """The real command, as a technician runs it: one line naming the database and what to do."""
    env = {**os.environ, "HANGCHO_SERVER_DATABASE_URL": url.format(port=postgres.port),
           "HANGCHO_SERVER_INSTANCE": str(tmp_path)}  # fmt: skip
    done = subprocess.run([str(Path(sys.executable).with_name("hangcho-server")), "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and said in lines[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr and lines[0].startswith("Error: ")


def test_a_server_that_may_not_migrate_names_the_missing_step(tmp_path):
    """`create_app(migrate=False)` (a database user without DDL rights) on an older schema: one
    line saying which version it is at and what to run."""
    from server import migrations
    from server.db import DatabaseTrouble, engine_for
    from server.settings import Settings

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = engine_for(url)
    migrations.schema.schema_version.create(engine)
    with pytest.raises(DatabaseTrouble, match=f"at schema version 0, this server needs {migrations.LATEST}: run"):
        create_app(Settings(database_url=url, secret_key="x"), migrate=False)
    migrations.upgrade(engine)
    close(create_app(Settings(database_url=url, secret_key="x"), migrate=False))


STEP_7 = "7: cancelled and unfinished tickets in the hourly buckets"
STEP_7_COLUMNS = ("cancelled", "unfinished")


@contextmanager
def back_to_step(engine, step: int, columns: dict[str, list[str]]):
    """A transaction on the database as a release at `step` left it: the later steps forgotten
    and their `columns` (table → names) dropped; the caller may change more in it."""
    from sqlalchemy import text

    with engine.begin() as conn:
        for table, names in columns.items():
            for name in names:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {name}"))
        conn.execute(text("DELETE FROM schema_version WHERE version > :step"), {"step": step})
        yield conn


def test_step_4_gives_a_database_from_before_it_the_writer_columns(server_db):
    """A database at step 3 (no writer columns, no resend_requests) is brought to step 4 and
    keeps its rows; the writer of an old row is unknown (NULL)."""
    from sqlalchemy import inspect, text

    from server import migrations
    from server.db import engine_for

    engine = engine_for(server_db)
    migrations.upgrade(engine)
    old = {"sync_batches": ["gateway_id"], "snapshots": ["gateway_id"], "hourly": ["gateway_id", "written_at"],
           "counter_days": ["gateway_id", "written_at"]}  # fmt: skip
    with back_to_step(engine, 3, old | {"hourly": [*old["hourly"], *STEP_7_COLUMNS]}) as conn:
        conn.execute(text("DROP TABLE resend_requests"))
        conn.execute(text("INSERT INTO centers (id, name, ward, site, created_at) VALUES ('x', 'X', 'W', 'main', 0)"))
        conn.execute(text("INSERT INTO sync_batches (center_id, seq, digest, received_at, buckets) "
                          "VALUES ('x', 7, 'd', 0, 0)"))  # fmt: skip
    assert migrations.upgrade(engine) == [f"{v}: {name}" for v, name, _ in migrations.MIGRATIONS if v >= 4]
    for table, columns in old.items():
        assert set(columns) <= {c["name"] for c in inspect(engine).get_columns(table)}, table
    assert inspect(engine).has_table("resend_requests")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seq, gateway_id FROM sync_batches")).all() == [(7, None)]
    engine.dispose()


def test_step_7_gives_a_database_from_before_it_the_cancelled_and_unfinished_counts(server_db):
    """A database at step 6 (hourly without cancelled and unfinished) is brought to step 7: the
    columns are back, an old row counts 0 in them, and a bucket with them is stored whole."""
    from sqlalchemy import inspect, select, text

    from server import migrations, schema
    from server.db import engine_for
    from server.ingest import ingest

    engine = engine_for(server_db)
    migrations.upgrade(engine)
    with back_to_step(engine, 6, {"hourly": list(STEP_7_COLUMNS)}) as conn:
        conn.execute(text("INSERT INTO hourly (center_id, day, hour, service, seq, issued, priority, called, served, "
                          "resolved, forwarded, returned, no_show, rated, wait_sum_s, service_sum_s, rating_sum, "
                          "wait_hist, service_hist, ratings) VALUES ('x', '2026-11-23', 8, 'A', 1, 5, 0, 4, 3, 3, 0, "
                          "0, 1, 0, 600, 900, 0, '[]', '[]', '[]')"))  # fmt: skip
    assert not set(STEP_7_COLUMNS) & {c["name"] for c in inspect(engine).get_columns("hourly")}
    assert migrations.upgrade(engine) == [f"{v}: {name}" for v, name, _ in migrations.MIGRATIONS if v >= 7]
    assert set(STEP_7_COLUMNS) <= {c["name"] for c in inspect(engine).get_columns("hourly")}
    assert migrations.upgrade(engine) == []
    bucket = empty_bucket("2026-11-23", 9, "A") | {"issued": 3, "cancelled": 1, "unfinished": 2}
    body = {"center": "x", "seq": 2, "buckets": [bucket]}
    with engine.begin() as conn:
        assert ingest(conn, check_batch(body)).status == "applied"
    with engine.connect() as conn:
        rows = conn.execute(select(schema.hourly.c.hour, schema.hourly.c.cancelled, schema.hourly.c.unfinished)
                            .order_by(schema.hourly.c.hour)).all()  # fmt: skip
    assert rows == [(8, 0, 0), (9, 1, 2)]
    engine.dispose()
