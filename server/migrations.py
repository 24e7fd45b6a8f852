"""Schema migrations: numbered steps applied in order, each recorded in `schema_version`.

A step is a function of a connection inside one transaction, written against the SQL of that
step's time (not the current `schema` module, which later steps may change), so a failed step leaves the
database as it was (PostgreSQL rolls DDL back; SQLite does too for these statements). Steps are
never edited once released: a change of schema is a new step.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from . import schema


def _initial(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t.name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables)


def _hourly_by_day(conn: Connection) -> None:
    conn.execute(text("CREATE INDEX hourly_day ON hourly (day, center_id)"))  # SQL both databases speak


def _room_for_hot_updates(conn: Connection) -> None:
    """PostgreSQL: leave a third of each page free in the tables every sync rewrites, so a row's
    new version fits beside the old one and no index needs touching (a HOT update)."""
    if conn.dialect.name == "postgresql":
        for table in ("hourly", "counter_days", "snapshots"):
            conn.execute(text(f"ALTER TABLE {table} SET (fillfactor = 70)"))


def _written_by(conn: Connection) -> None:
    """Who wrote each batch, bucket, counter-day and snapshot, and the centers asked to resend (for
    purging a stolen token's rows). A database made by step 1 at a later release already has
    them: added only if missing."""
    schema.resend_requests.create(conn, checkfirst=True)
    wanted = {"sync_batches": ("gateway_id",), "snapshots": ("gateway_id",),
              "hourly": ("gateway_id", "written_at"), "counter_days": ("gateway_id", "written_at")}  # fmt: skip
    for table, columns in wanted.items():
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for column in columns:
            if column not in have:
                kind = "VARCHAR(32)" if column == "gateway_id" else "DOUBLE PRECISION"
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def _server_side_sessions(conn: Connection) -> None:
    """Sessions kept in the database (logout ends them on every node), users that can be
    disabled, and failed logins counted by user name, client address and device."""
    for table in (schema.web_sessions, schema.login_throttle):
        table.create(conn, checkfirst=True)
    if "disabled" not in {c["name"] for c in inspect(conn).get_columns("users")}:
        conn.execute(text("ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE"))
    conn.execute(text("DROP TABLE IF EXISTS login_failures"))


def _audit_log(conn: Connection) -> None:
    schema.audit_log.create(conn, checkfirst=True)


def _outcome_counts(conn: Connection) -> None:
    """An hourly bucket's cancelled and unfinished tickets (a ticket still open when its day
    ended), so that served + no_show + cancelled + unfinished = issued. Older rows, and buckets
    from gateways that do not send them, count 0. Added only if missing, as in step 4."""
    have = {c["name"] for c in inspect(conn).get_columns("hourly")}
    for column in ("cancelled", "unfinished"):
        if column not in have:
            conn.execute(text(f"ALTER TABLE hourly ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"))


def _hierarchy(conn: Connection) -> None:
    """Each center's commune and province by their official codes. Added only if missing, as in
    step 4; a center from before keeps its ward's name and has no codes until it is set again."""
    have = {c["name"] for c in inspect(conn).get_columns("centers")}
    for column in ("commune_code", "province_code"):
        if column not in have:
            conn.execute(text(f"ALTER TABLE centers ADD COLUMN {column} INTEGER"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_centers_province_code ON centers (province_code)"))


def _scoped_roles(conn: Connection) -> None:
    """Scoped roles (server/scopes.py): a user's province or commune by official code; the admins
    of before become national (every center), staff keep their center. Columns added only if
    missing, as in step 4."""
    have = {c["name"] for c in inspect(conn).get_columns("users")}
    for column in ("province_code", "commune_code"):
        if column not in have:
            conn.execute(text(f"ALTER TABLE users ADD COLUMN {column} INTEGER"))
    conn.execute(text("UPDATE users SET role = 'national' WHERE role = 'admin'"))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial tables", _initial),
    (2, "hourly rows by day, for the province's overview", _hourly_by_day),
    (3, "room for HOT updates in the rows every sync rewrites", _room_for_hot_updates),
    (4, "which gateway credential wrote each row", _written_by),
    (5, "server-side web sessions, disabled users, login throttling", _server_side_sessions),
    (6, "the audit log", _audit_log),
    (7, "cancelled and unfinished tickets in the hourly buckets", _outcome_counts),
    (8, "each center's commune and province, by official code", _hierarchy),
    (10, "scoped roles: national, province, commune, staff", _scoped_roles),
]
LATEST = MIGRATIONS[-1][0]


def current(engine: Engine) -> int:
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        return _version(conn)


def _applied(conn: Connection) -> set[int]:
    return set(conn.execute(select(schema.schema_version.c.version)).scalars())


def _version(conn: Connection) -> int:
    """The last step up to which every step is applied (steps are numbered with gaps while
    branches that each took a number are merged: the steps listed, not every integer)."""
    applied, at = _applied(conn), 0
    for version, _, _ in MIGRATIONS:
        if version not in applied:
            break
        at = version
    return at


def upgrade(engine: Engine) -> list[str]:
    """Apply the steps not yet applied; return their names. On PostgreSQL an advisory lock makes
    gunicorn workers starting together take turns; with SQLite run `hangcho-server migrate` once
    before starting several workers."""
    try:
        schema.schema_version.create(engine, checkfirst=True)
    except DBAPIError:  # another worker created it between the check and the CREATE
        if not inspect(engine).has_table("schema_version"):
            raise
    applied = []
    for version, name, step in MIGRATIONS:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(4201)"))
            if version in _applied(conn):  # each step by itself: one recorded later does not skip it
                continue
            step(conn)
            conn.execute(schema.schema_version.insert().values(version=version, name=name, applied_at=time.time()))
        applied.append(f"{version}: {name}")
    return applied
