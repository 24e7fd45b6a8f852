"""Hourly rows by month on PostgreSQL (a plain table on SQLite), their retention, and the day rows
that outlive them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from contracts.sync import empty_bucket
from server import migrations, partitions, schema
from server.ingest import ingest


@pytest.fixture
def engine(server_db):
    engine = create_engine(server_db)
    yield engine
    engine.dispose()


def send(engine, center, seq, buckets):
    with engine.begin() as conn:
        batch = {"center": center, "seq": seq, "snapshot": None, "buckets": buckets, "counters": []}
        return ingest(conn, batch, gateway="g1")


def counts(conn, table) -> tuple:
    return tuple(
        conn.execute(select(func.count(), func.coalesce(func.sum(table.c.issued), 0)).select_from(table)).one()
    )


def test_an_unpartitioned_hourly_table_is_partitioned_by_month_with_its_rows(engine, monkeypatch):
    before = [m for m in migrations.MIGRATIONS if m[0] != 12]
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    migrations.upgrade(engine)
    send(engine, "c1", 1, [empty_bucket(d, 8, "A") | {"issued": n} for n, d in enumerate(("2025-01-31", "2026-11-23"))])
    with engine.connect() as conn:
        kept = counts(conn, schema.hourly)
    monkeypatch.undo()
    assert migrations.upgrade(engine) == ["12: PostgreSQL: hourly rows partitioned by month"]
    with engine.connect() as conn:
        assert counts(conn, schema.hourly) == kept == (2, 1)
        assert partitions.is_partitioned(conn) == (engine.dialect.name == "postgresql")
        if engine.dialect.name == "postgresql":
            made = partitions.months(conn)
            today = datetime.now(UTC).date()
            this = partitions.month_of(today)
            assert min(made) == min(date(2025, 1, 1), partitions.add_months(this, -24))
            assert sorted(made) == partitions.span(min(made), partitions.add_months(this, 3))  # no month missing
            where = text("SELECT count(*) FROM hourly_2025_01")
            assert conn.execute(where).scalar_one() == 1
    send(engine, "c1", 2, [empty_bucket("2026-11-23", 8, "A") | {"issued": 5}])  # replaced through the partitions
    with engine.connect() as conn:
        assert counts(conn, schema.hourly) == (2, 5)
        assert counts(conn, schema.daily) == (2, 5)


def test_prune_keeps_hourly_rows_25_months_and_the_day_rows_for_ever(engine):
    migrations.upgrade(engine)
    pg = engine.dialect.name == "postgresql"
    send(engine, "c1", 1, [empty_bucket(d, 8, "A") | {"issued": 1} for d in ("2026-01-15", "2026-02-01", "2031-05-02")])
    if pg:  # step 12 made the months from two years back to three ahead; 2031 waits in the default partition
        with engine.connect() as conn:
            assert conn.execute(text("SELECT day FROM hourly_default")).scalars().all() == ["2031-05-02"]
            assert conn.execute(text("SELECT day FROM hourly_2026_01")).scalars().all() == ["2026-01-15"]
    with engine.begin() as conn:
        pruned = partitions.prune_hourly(conn, date(2028, 2, 10))  # keeps 2026-02 … 2028-02
    with engine.connect() as conn:
        days = conn.execute(select(schema.hourly.c.day).order_by(schema.hourly.c.day)).scalars().all()
        assert days == ["2026-02-01", "2031-05-02"]
        assert counts(conn, schema.daily) == (3, 3)  # the day rows stay
        if pg:
            assert pruned.dropped[-1] == "hourly_2026_01" and pruned.deleted == 0
            step_12_made = partitions.add_months(partitions.month_of(datetime.now(UTC).date()), 3)
            assert pruned.made == [partitions.name(m) for m in partitions.span(partitions.add_months(step_12_made, 1),
                                                                               date(2028, 5, 1))]  # fmt: skip
            assert min(partitions.months(conn)) == date(2026, 2, 1)
        else:
            assert pruned.deleted == 1
    if pg:  # a month whose rows came before its partition: moved in
        with engine.begin() as conn:
            assert "hourly_2031_05" in partitions.prune_hourly(conn, date(2031, 4, 20)).made
        with engine.connect() as conn:
            assert conn.execute(text("SELECT day FROM hourly_default")).scalars().all() == []
            assert conn.execute(text("SELECT day FROM hourly_2031_05")).scalars().all() == ["2031-05-02"]


def test_hourly_rows_are_never_kept_shorter_than_a_bucket_may_come_late(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="at least 16 months"):
        partitions.prune_hourly(conn, date(2028, 2, 10), keep_months=12)
