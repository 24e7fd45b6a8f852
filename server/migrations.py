"""Schema migrations: numbered steps applied in order, each recorded in `schema_version`.

A step is a function of a connection inside one transaction, written against the SQL of that
step's time (not the current `schema` module, which later steps may change), so a failed step leaves the
database as it was (PostgreSQL rolls DDL back; SQLite does too for these statements). Steps are
never edited once released: a change of schema is a new step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from . import partitions, schema


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


def _catalog_field(conn: Connection) -> None:
    """Each hourly bucket's field in the service catalog; older rows are "khac" (other). Added only
    if missing, as in step 4."""
    if "field" not in {c["name"] for c in inspect(conn).get_columns("hourly")}:
        conn.execute(text("ALTER TABLE hourly ADD COLUMN field VARCHAR(32) NOT NULL DEFAULT 'khac'"))


def _daily_rollups(conn: Connection) -> None:
    """The day rows (server/rollups.py), added up from the hourly rows already there (all of them:
    the day rows are nothing but their sums, so a table already there is rebuilt); from now on
    kept at ingest. By day too, for the whole country's short ranges. PostgreSQL leaves room for
    HOT updates as in step 3."""
    schema.daily.create(conn, checkfirst=True)
    conn.execute(text("DELETE FROM daily"))

    def bin_of(name: str, i: int) -> str:  # the i-th count of a JSON histogram, in each database's SQL
        if conn.dialect.name == "postgresql":
            return f"CAST({name} ->> {i} AS bigint)"
        return f"json_extract({name}, '$[{i}]')"

    scalars = [n for n in schema.ROLLUP_NUMBERS if not any(n in cols for cols in schema.BINS.values())]
    sums = [f"COALESCE(sum({n}), 0)" for n in scalars]  # a histogram short of a bin counts 0 in it
    sums += [f"COALESCE(sum({bin_of(name, i)}), 0)" for name, cols in schema.BINS.items() for i in range(len(cols))]
    conn.execute(text(f"INSERT INTO daily (center_id, day, service, field, {', '.join(schema.ROLLUP_NUMBERS)}) "
                      f"SELECT center_id, day, service, max(field), {', '.join(sums)} FROM hourly "
                      "GROUP BY center_id, day, service"))  # fmt: skip
    conn.execute(text("CREATE INDEX IF NOT EXISTS daily_day ON daily (day, center_id)"))  # the country's day
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE daily SET (fillfactor = 70)"))


def _hourly_by_month(conn: Connection) -> None:
    """PostgreSQL: `hourly` partitioned by month (server/partitions.py), its rows kept: one table
    per month from the oldest row's (or two years back) to three months ahead, and a default
    partition for the rest. SQLite keeps its plain table."""
    if conn.dialect.name != "postgresql":
        return
    if conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('hourly')")).scalar_one() == "p":
        return
    key = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'hourly'::regclass "
                            "AND contype = 'p'")).scalar_one()  # fmt: skip
    conn.execute(text("ALTER TABLE hourly RENAME TO hourly_unpartitioned"))
    conn.execute(text(f"ALTER TABLE hourly_unpartitioned RENAME CONSTRAINT {key} TO hourly_unpartitioned_pkey"))
    conn.execute(text("DROP INDEX IF EXISTS hourly_day"))
    conn.execute(text("CREATE TABLE hourly (LIKE hourly_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (day)"))
    conn.execute(text("ALTER TABLE hourly ADD PRIMARY KEY (center_id, day, hour, service)"))
    conn.execute(text("CREATE INDEX hourly_day ON hourly (day, center_id)"))
    conn.execute(text("CREATE TABLE hourly_default PARTITION OF hourly DEFAULT WITH (fillfactor = 70)"))
    today = datetime.now(UTC).date()
    oldest = conn.execute(text("SELECT min(day) FROM hourly_unpartitioned")).scalar_one()
    first = partitions.add_months(today.replace(day=1), -24)
    first = min(first, date.fromisoformat(oldest)) if oldest else first
    for month in partitions.span(first, partitions.add_months(today, 3)):
        bounds = f"FROM ('{month.isoformat()}') TO ('{partitions.add_months(month, 1).isoformat()}')"
        conn.execute(text(f"CREATE TABLE {partitions.name(month)} PARTITION OF hourly FOR VALUES {bounds} "
                          "WITH (fillfactor = 70)"))  # fmt: skip
    conn.execute(text("INSERT INTO hourly SELECT * FROM hourly_unpartitioned"))
    conn.execute(text("DROP TABLE hourly_unpartitioned"))


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
    (9, "each hourly bucket's field in the service catalog", _catalog_field),
    (10, "scoped roles: national, province, commune, staff", _scoped_roles),
    (11, "daily roll-ups of the hourly rows, kept at ingest", _daily_rollups),
    (12, "PostgreSQL: hourly rows partitioned by month", _hourly_by_month),
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
    """The last step up to which every step listed is applied, in the list's order."""
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
