"""The daily roll-ups equal the sums of the hourly rows, whatever batches came and whatever a
purge removed, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from contracts.sync import HISTOGRAMS, empty_bucket
from server import migrations, schema
from server.ingest import ingest
from server.purge import purge
from server.rollups import flat

DAYS = ("2026-11-23", "2026-11-24")
_centers = itertools.count()


@pytest.fixture
def engine(server_db):
    engine = create_engine(server_db)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def bucket(day=DAYS[0], hour=8, service="A", **values):
    return empty_bucket(day, hour, service) | values


def hourly_sums(conn, center: str) -> dict:
    """What the day rows must hold: the hourly rows added up in Python."""
    out = defaultdict(lambda: defaultdict(int))
    for r in conn.execute(select(schema.hourly).where(schema.hourly.c.center_id == center)).mappings():
        for k, v in flat(r).items():
            out[(r["day"], r["service"])][k] += v
    return {key: dict(v) for key, v in out.items() if any(v.values())}  # as daily_rows: a day of zeros is none


def daily_rows(conn, center: str) -> dict:
    """The center's day rows but those all zeros (a purge leaves a row it emptied)."""
    rows = conn.execute(select(schema.daily).where(schema.daily.c.center_id == center)).mappings()
    out = {(r["day"], r["service"]): {k: r[k] for k in schema.ROLLUP_NUMBERS} for r in rows}
    return {k: v for k, v in out.items() if any(v.values())}


def send(engine, center, seq, buckets, gateway="g1", now=None):
    with engine.begin() as conn:
        return ingest(conn, {"center": center, "seq": seq, "snapshot": None, "buckets": buckets, "counters": []},
                      now=now, gateway=gateway)  # fmt: skip


def test_a_bucket_replaced_by_a_newer_seq_changes_its_day_by_the_difference(engine):
    send(engine, "c1", 1, [bucket(hour=8, issued=3, wait_sum_s=600), bucket(hour=9, issued=2)])
    send(engine, "c1", 2, [bucket(hour=8, issued=5, wait_sum_s=900, wait_hist=[1] + [0] * 22)])
    with engine.connect() as conn:
        day = daily_rows(conn, "c1")[(DAYS[0], "A")]
        assert (day["issued"], day["wait_sum_s"], day["wait_hist_0"]) == (7, 900, 1)
        assert daily_rows(conn, "c1") == hourly_sums(conn, "c1")


def test_a_replayed_or_refused_batch_changes_no_day(engine):
    send(engine, "c1", 1, [bucket(issued=3)])
    assert send(engine, "c1", 1, [bucket(issued=3)]).status == "duplicate"
    assert send(engine, "c1", 1, [bucket(issued=9)]).status == "conflict"
    with engine.connect() as conn:
        assert daily_rows(conn, "c1")[(DAYS[0], "A")]["issued"] == 3


def test_a_purge_takes_what_it_deletes_out_of_the_days(engine):
    with engine.begin() as conn:
        conn.execute(schema.gateways.insert().values(id="thief", center_id="c1", secret_hash="x", created_at=0))
    t = time.time()
    send(engine, "c1", 1, [bucket(hour=8, issued=3), bucket(hour=9, issued=4)], gateway="honest", now=t - 100)
    send(engine, "c1", 2, [bucket(hour=9, issued=40), bucket(hour=10, service="B", issued=7)], gateway="thief", now=t)
    with engine.begin() as conn:
        purge(conn, "thief", t - 10)
    with engine.connect() as conn:
        days = daily_rows(conn, "c1")
        assert days == hourly_sums(conn, "c1")
        assert list(days) == [(DAYS[0], "A")] and days[(DAYS[0], "A")]["issued"] == 3  # the thief's: gone


def test_the_migration_adds_up_the_hourly_rows_already_there(engine):
    send(engine, "c1", 1, [bucket(hour=h, service=s, issued=h, ratings=[0, 0, 0, 1, h]) for h in (8, 9) for s in "AB"])
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE daily"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 11"))
    assert migrations.upgrade(engine) == ["11: daily roll-ups of the hourly rows, kept at ingest"]
    with engine.connect() as conn:
        assert daily_rows(conn, "c1") == hourly_sums(conn, "c1")
        assert daily_rows(conn, "c1")[(DAYS[0], "B")]["ratings_4"] == 17


counts = st.integers(min_value=0, max_value=2**31 - 1)
buckets = st.builds(
    lambda day, hour, service, issued, wait_sum_s, hists: bucket(
        day, hour, service, issued=issued, wait_sum_s=wait_sum_s, **hists
    ),
    st.sampled_from(DAYS),
    st.integers(min_value=7, max_value=10),
    st.sampled_from("AB"),
    counts,
    counts,
    st.fixed_dictionaries(
        {n: st.lists(st.integers(0, 1000), min_size=size, max_size=size) for n, size in HISTOGRAMS.items()}
    ),
)
batches = st.lists(st.lists(buckets, max_size=6, unique_by=lambda b: (b["day"], b["hour"], b["service"])), max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, order=st.randoms(use_true_random=False))
def test_the_days_equal_the_sum_of_the_hours_for_any_batches(engine, batches, order):
    """Batches sent in any order: the ones below the mark are refused, the others replace what
    they meet; either way each day equals its hours."""
    center = f"p{next(_centers)}"
    numbered = list(enumerate(batches, start=1))
    order.shuffle(numbered)
    for seq, body in numbered:
        send(engine, center, seq, body)
    with engine.connect() as conn:
        assert daily_rows(conn, center) == hourly_sums(conn, center)


@pytest.mark.parametrize(("day_from", "grain", "lines"), [("2026-11-01", "hour", 3), ("2026-10-01", "day", 2),
                                                          ("2026-01-01", "month", 1)])  # fmt: skip
def test_a_long_export_has_a_line_per_day_or_month_whose_sums_are_the_hours(engine, day_from, grain, lines):
    from server import accounts
    from server.reports import EXPORT_COLUMNS, export_grain, export_rows
    from server.settings import Settings

    with engine.begin() as conn:
        accounts.add_center(conn, "c1", "Trung tâm PVHCC xã Tân Phú", "Tân Phú", "main")
    send(engine, "c1", 1, [bucket(DAYS[0], 8, issued=3, wait_hist=[2] + [0] * 22),
                           bucket(DAYS[0], 9, issued=4, wait_hist=[0, 5] + [0] * 21),
                           bucket(DAYS[1], 8, issued=5)])  # fmt: skip
    with engine.connect() as conn:
        everyone = SimpleNamespace(role="national", center_id=None, province_code=None, commune_code=None)
        rows = export_rows(conn, everyone, day_from, DAYS[1], Settings(database_url="", secret_key="x"))
    column = {name: i for i, name in enumerate(EXPORT_COLUMNS)}
    assert export_grain(day_from, DAYS[1]) == grain and len(rows) == lines
    assert sum(r[column["issued"]] for r in rows) == 12 and sum(r[column["wait_le_1"]] for r in rows) == 2
    assert {r[column["day"]] for r in rows} == ({"2026-11"} if grain == "month" else set(DAYS))
    assert all((r[column["hour"]] is None) == (grain != "hour") for r in rows)


def test_batches_of_one_center_racing_each_other_keep_the_days_exact(server_db):
    """Two connections of the sync path (PostgreSQL: autocommit, a batch one statement) sending
    the same center's new and replaced buckets at once: each day still equals its hours."""
    from concurrent.futures import ThreadPoolExecutor

    from server.db import engine_for, sync_engine_for
    from server.sync_api import _connection

    engine = engine_for(server_db)
    migrations.upgrade(engine)
    sync = sync_engine_for(engine)

    def sender(first: int) -> None:
        for seq in range(first, first + 60, 2):  # interleaved seqs: each taken, none below the mark by much
            with _connection(sync) as conn:
                buckets = [bucket(hour=seq % 5 + 7, issued=seq), bucket(hour=12, issued=seq)]
                ingest(conn, {"center": "c1", "seq": seq, "snapshot": None, "counters": [], "buckets": buckets})

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(sender, (1, 2)))
    with engine.connect() as conn:
        assert daily_rows(conn, "c1") == hourly_sums(conn, "c1")
        assert conn.execute(text("SELECT count(*) FROM sync_batches")).scalar_one() >= 30  # one sender's at least
    sync.dispose()
    engine.dispose()
