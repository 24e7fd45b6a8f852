"""Whatever the sync API takes, every page and export renders: accepted bodies generated from
the rules (contracts/sync.py), posted one after another, then every page, JSON answer, export
and public ticket page read as the admin and as a citizen. A 5xx is a failure, and so is a
body the generator made by the rules that the server refused (the two disagree)."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ids
from contracts.catalog import NATIONAL
from contracts.sync import (
    COUNTER_COUNTS,
    COUNTER_HISTOGRAMS,
    COUNTER_STATUSES,
    COUNTER_SUMS,
    COUNTS,
    HISTOGRAMS,
    MAX_COUNT,
    QUEUE_ALERTS,
    SUMS,
    empty_snapshot,
)

DAYS = ("2026-11-23", "2026-11-24")
COUNT = st.integers(0, 40) | st.sampled_from((0, 1, MAX_COUNT))
TICKET = st.from_regex(ids.TICKET, fullmatch=True)
# Any text: UTF-8 (a lone surrogate is not text, and JSON refuses it), but NUL, which the server
# refuses as a rule of its own (docs/sync.md)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30) | st.sampled_from(
    ("<script>alert(1)</script>", "Chứng thực", "", " ", "﷽" * 4)
)


def _rows(keys: dict, names: tuple[str, ...], hists: dict[str, int]) -> st.SearchStrategy:
    values = {n: COUNT for n in names} | {n: st.lists(COUNT, min_size=k, max_size=k) for n, k in hists.items()}
    row = st.fixed_dictionaries(keys, optional=values)
    identity = [k for k in keys if k != "field"]  # a bucket is one (day, hour, service), whatever its field
    return st.lists(row, max_size=4, unique_by=lambda r: tuple(r[k] for k in identity))


BUCKETS = _rows({"day": st.sampled_from(DAYS), "hour": st.integers(0, 23), "service": st.sampled_from("ABCZ"),
                 "field": st.sampled_from(list(NATIONAL))}, (*COUNTS, *SUMS), HISTOGRAMS)  # fmt: skip
COUNTERS = _rows({"day": st.sampled_from(DAYS), "counter": st.integers(1, 999)},
                 (*COUNTER_COUNTS, *COUNTER_SUMS), COUNTER_HISTOGRAMS)  # fmt: skip
WAITING = st.fixed_dictionaries({"service": st.sampled_from("ABCZ"), "name": TEXT, "count": st.integers(0, 20_000),
                                 "longest_wait_s": st.integers(0, 172_800) | st.just(MAX_COUNT)})  # fmt: skip
COUNTER = st.fixed_dictionaries({"counter": st.integers(1, 999), "status": st.sampled_from(COUNTER_STATUSES),
                                 "ticket": st.none() | TICKET})  # fmt: skip
KIND = st.from_regex(ids.PRIORITY_CLASS, fullmatch=True) | st.sampled_from(QUEUE_ALERTS)
ALERT = st.fixed_dictionaries(
    {"device": st.from_regex(ids.DEVICE_ID, fullmatch=True), "kind": KIND, "message": TEXT}
) | (
    st.fixed_dictionaries({"service": st.none() | st.sampled_from("ABCZ"), "kind": KIND, "message": TEXT})
)  # a board's or the queue's
ETA = st.none() | st.tuples(st.integers(0, 2880), st.integers(0, 2880)).map(lambda t: sorted(t))
PLACE = st.fixed_dictionaries({"state": st.just("waiting"), "ahead": st.integers(0, 20_000), "eta_min": ETA}) | (
    st.fixed_dictionaries({"state": st.sampled_from(("called", "serving")), "counter": st.integers(1, 999)})
)
DEVICES = st.integers(0, 9999).flatmap(lambda total: st.fixed_dictionaries(
    {"online": st.integers(0, total), "total": st.just(total)}))  # fmt: skip


@st.composite
def snapshot(draw) -> dict:
    return empty_snapshot(time.time() - draw(st.floats(0, 80_000)), draw(st.sampled_from(DAYS))) | {
        "waiting": draw(st.lists(WAITING, max_size=4)), "counters": draw(st.lists(COUNTER, max_size=4)),
        "devices": draw(DEVICES), "alerts": draw(st.lists(ALERT, max_size=3)),
        "tickets": draw(st.dictionaries(TICKET, PLACE, max_size=5)),
    }  # fmt: skip


BATCH = st.fixed_dictionaries({}, optional={"buckets": BUCKETS, "counters": COUNTERS, "snapshot": snapshot()})


def test_every_page_renders_whatever_the_sync_api_accepted(server_app, login):
    admin = server_app.test_client()
    assert login(admin, "tinh").status_code == 302
    citizen = server_app.test_client()
    headers = {"Authorization": f"Bearer {server_app.tokens['xa-tan-phu']}"}
    seq = [0]
    pages = [f"{p}?from={DAYS[0]}&to={DAYS[1]}" for p in ("/", "/api/v1/overview", "/centers/xa-tan-phu",
             "/api/v1/centers/xa-tan-phu", "/compare", "/export.csv", "/export.xlsx")]  # fmt: skip
    pages += ["/compare?service=Z", "/centers/xa-tan-phu", "/"]

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    @given(BATCH)
    def accepted(batch):
        body = {"center": "xa-tan-phu", **batch}
        if batch.get("buckets") or batch.get("counters"):
            seq[0] += 1
            body["seq"] = seq[0]
        r = admin.post("/api/v1/sync", data=json.dumps(body), headers=headers, content_type="application/json")
        assert r.status_code == 200, f"a body by the rules was refused: {r.get_json()}"
        for page in pages:
            answer = admin.get(page)
            assert answer.status_code < 500, (page, answer.status_code)
        for ticket in batch.get("snapshot", {}).get("tickets", {}):
            for day in DAYS:
                for suffix in ("", ".json"):
                    answer = citizen.get(f"/c/xa-tan-phu/t/{day}/{ticket}{suffix}")
                    assert answer.status_code == 200, (ticket, answer.status_code)

    accepted()
