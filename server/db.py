"""The database engine: SQLite (embedded, one file) or PostgreSQL, chosen by URL."""

from __future__ import annotations

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
