"""The database engine: SQLite (embedded, one file) or PostgreSQL, chosen by URL."""

from __future__ import annotations

import re

from sqlalchemy import Engine, create_engine, event


def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL: the dashboard reads while gateways write
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=8, max_overflow=4, pool_pre_ping=True)


def sync_engine_for(engine: Engine) -> Engine:
    """The sync API's own pool. On PostgreSQL: autocommit (a batch is one statement), no ping and
    no rollback around each use: three round trips fewer per request. A connection that a
    database restart broke fails one request (the gateway retries) and is replaced."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, pool_size=4,
                         max_overflow=4, pool_pre_ping=False)  # fmt: skip


class DatabaseTrouble(Exception):
    """A database the server cannot use, said in one line: what, where, and what to do."""


def explain(error: Exception, url: str) -> DatabaseTrouble:
    """One line for a database error a technician meets at set-up, the URL's password left out."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if isinstance(error, ArgumentError | NoSuchModuleError | ValueError):
        shown = re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)
        return DatabaseTrouble(f"database_url {shown!r} is not a database URL: use sqlite:///PATH or "
                               "postgresql+psycopg://USER@HOST:PORT/NAME")  # fmt: skip
    parsed = make_url(url)
    said = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if parsed.get_backend_name() == "sqlite":
        return DatabaseTrouble(f"cannot open the SQLite database {parsed.database}: {said} "
                               "(does its folder exist, and may this user write there?)")  # fmt: skip
    where = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "does not exist" in said and "database" in said:
        return DatabaseTrouble(f"the database {parsed.database!r} does not exist on {where}: create it "
                               f"(createdb -h {parsed.host or 'localhost'} -U {parsed.username or 'postgres'} "
                               f"{parsed.database}), or fix database_url")  # fmt: skip
    if "password authentication failed" in said or ("role" in said and "does not exist" in said):
        return DatabaseTrouble(f"{where} refused user {parsed.username!r}: {said} (check the user and password "
                               "in database_url)")  # fmt: skip
    if "Connection refused" in said or "could not connect" in said or "timeout" in said.lower():
        return DatabaseTrouble(f"cannot reach {where}: {said} (is PostgreSQL running, and is the address in "
                               "database_url right?)")  # fmt: skip
    return DatabaseTrouble(f"{where}, database {parsed.database!r}: {said}")
