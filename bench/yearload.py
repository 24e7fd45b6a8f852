"""A year of the whole country on PostgreSQL, and the dashboards read over it while every
gateway syncs (issue #15, part 4).

The loader writes by COPY, not through the API: 3,321 centers (one per commune and ward of the
official list, server/hierarchy.py, so about 100 per province), and for each the day rows
(`daily`) of a year, SERVICES services every working day (Monday to Saturday) up to LAST_DAY;
the hourly rows and counter-days of the last 31 days for the centers of the province measured
(they are read per center through their primary key, so the rest of the country's would add
disk, not time). The same rows for one province alone go into a second database: a province
runs its own server (docs/server.md).

Then two gunicorn nodes on each database behind nginx (rig/proxy.py ServerProxy), and beside
the measurements a paced sync load: 3,321 gateways at one batch per 10 s each (332 req/s),
straight to the national nodes. Figures, each the 95th percentile of the JSON route through
nginx, as an admin: dashboard_p95_ms_national_1d, _31d, _366d (/api/v1/overview over every
center), dashboard_p95_ms_province_366d (the province's server), dashboard_p95_ms_center_366d
(/api/v1/centers/<id>); export_xlsx_s_province_366d (the median of 3 downloads); and, the
dashboards idle, server_sync_rps_postgres_2nodes: sync requests per second through nginx over
TLS, a new connection each. Run alone with `python -m bench.yearload`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import ssl
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from bench.server_sync import GATEWAYS, IN_FLIGHT, _drop, _one, _postgres_url, next_body, templates_for
from contracts.sync import HISTOGRAMS, WAIT_EDGES_MIN
from rig.gunicorn import Gunicorn
from rig.proxy import ServerProxy
from server import accounts, hierarchy, migrations, schema
from server.db import engine_for

LAST_DAY = date(2026, 11, 30)
SERVICES = "ABCD"
PROVINCE = 79  # Thành phố Hồ Chí Minh: the demo's
RATE = GATEWAYS / 10  # one batch per gateway every 10 s
PASSWORD = "mật-khẩu-đủ-dài"
SAMPLES, BUDGET_S = 30, 45.0  # per figure: this many requests, or as many as fit in the budget (at least 3)
NODE_TIMEOUT_S = 150  # gunicorn's worker timeout on the bench's nodes: a slow range is measured, not killed


def _days(n: int) -> list[str]:
    return [
        (LAST_DAY - timedelta(days=i)).isoformat() for i in range(n) if (LAST_DAY - timedelta(days=i)).weekday() < 6
    ]


def _profiles(rng: random.Random, n: int = 400) -> list[str]:
    """Day rows' numbers as COPY text, drawn once: a busy or a quiet day of one service."""
    out = []
    for _ in range(n):
        issued = rng.randint(5, 120)
        served = issued - rng.randint(0, issued // 8)
        called = served + rng.randint(0, 3)
        rated = served // 3
        wait = [0] * HISTOGRAMS["wait_hist"]
        for _ in range(called):
            wait[min(len(wait) - 1, int(rng.expovariate(1 / 3)))] += 1
        service = [0] * HISTOGRAMS["service_hist"]
        for _ in range(served):
            service[min(len(service) - 1, int(rng.expovariate(1 / 5)))] += 1
        ratings = [0, 0, rated // 6, rated // 3, rated - rated // 6 - rated // 3]
        waited = sum(n * edge * 45 for n, edge in zip(wait, (*WAIT_EDGES_MIN, 300), strict=True))  # ¾ of its bin
        counts = {"issued": issued, "priority": issued // 10, "called": called, "served": served,
                  "resolved": served * 4 // 5, "forwarded": served // 10, "returned": served // 20,
                  "no_show": called - served, "cancelled": rng.randint(0, 2), "unfinished": 0, "rated": rated,
                  "wait_sum_s": waited, "service_sum_s": served * 420,
                  "rating_sum": 3 * ratings[2] + 4 * ratings[3] + 5 * ratings[4]}  # fmt: skip
        values = [counts[n] for n in schema.ROLLUP_NUMBERS if n in counts] + wait + service + ratings
        out.append("\t".join(map(str, values)))
    return out


def load(url: str, communes: list[hierarchy.Commune], detail: set[int], rng: random.Random) -> list[tuple[str, str]]:
    """Centers, a year of their day rows, the last 31 days' hourly rows and counter-days of the
    communes in `detail`; returns each center's (id, gateway token)."""
    engine = engine_for(url)
    migrations.upgrade(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        now = time.time()
        with cur.copy("COPY centers (id, name, ward, site, created_at, commune_code, province_code) FROM STDIN") as cp:
            for c in communes:
                cp.write_row((f"c{c.code}", f"Trung tâm PVHCC {c.name}", c.name, "main", now, c.code, c.province_code))
        profiles, year = _profiles(rng), _days(366)
        columns = ", ".join(schema.ROLLUP_NUMBERS)
        with cur.copy(f"COPY daily (center_id, day, service, {columns}) FROM STDIN") as cp:
            for c in communes:
                lines = [f"c{c.code}\t{d}\t{s}\t{rng.choice(profiles)}\n" for d in year for s in SERVICES]
                cp.write("".join(lines))
        _detail(cur, [c for c in communes if c.code in detail], rng)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    tokens = []
    with engine.begin() as conn:
        accounts.add_user(conn, "tinh", PASSWORD, "admin")
        for c in communes:
            tokens.append((f"c{c.code}", accounts.add_gateway(conn, f"c{c.code}")))
    engine.dispose()
    return tokens


def _detail(cur, communes: list[hierarchy.Commune], rng: random.Random) -> None:
    """Hourly rows and counter-days of the last 31 days (what an hour axis reads)."""
    zeros = {n: "[" + ",".join(["0"] * k) + "]" for n, k in HISTOGRAMS.items()}
    fields = ("issued", "priority", "called", "served", "resolved", "forwarded", "returned", "no_show", "cancelled",
              "unfinished", "rated", "wait_sum_s", "service_sum_s", "rating_sum")  # fmt: skip
    hours = ", ".join(fields)
    with cur.copy(f"COPY hourly (center_id, day, hour, service, seq, {hours}, wait_hist, service_hist, ratings) "
                  "FROM STDIN") as cp:  # fmt: skip
        for c in communes:
            for d in _days(31):
                for h in range(7, 17):
                    for s in SERVICES:
                        n = rng.randint(0, 12)
                        wait = [0] * HISTOGRAMS["wait_hist"]
                        wait[rng.randint(0, 8)] = n
                        cp.write_row((f"c{c.code}", d, h, s, 1, n, 0, n, n, n, 0, 0, 0, 0, 0, 0, n * 300, n * 400, 0,
                                      str(wait).replace(" ", ""), zeros["service_hist"], zeros["ratings"]))  # fmt: skip
    with cur.copy("COPY counter_days (center_id, day, counter, seq, served, resolved, forwarded, returned, rated, "
                  "service_sum_s, rating_sum, service_hist, ratings) FROM STDIN") as cp:  # fmt: skip
        for c in communes:
            for d in _days(31):
                for counter in range(1, 5):
                    cp.write_row((f"c{c.code}", d, counter, 1, 30, 25, 2, 1, 10, 30 * 400, 42,
                                  zeros["service_hist"], zeros["ratings"]))  # fmt: skip


def _paced_load(ports: list[int], gateways: list[tuple[str, str]], rate: float, stop, sent) -> None:
    """The sync load in its own process: each gateway a batch in turn, `rate` a second, to the
    nodes in turn, until `stop` is set; `sent` counts the answers and the failed ones."""

    async def run() -> None:
        seqs = dict.fromkeys((c for c, _ in gateways), 0)
        templates = templates_for(gateways)
        began, n, pending = time.perf_counter(), 0, set()

        async def one(center: str, token: str, port: int) -> None:
            body = next_body(templates, seqs, center)
            try:
                status = await _one(port, "/api/v1/sync", token, body)
            except OSError:
                status = 0
            with sent.get_lock():
                sent[0] += 1
                sent[1] += status != 200

        while not stop.is_set():
            due = began + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            while len(pending) >= IN_FLIGHT:  # a server that falls behind is not buried: the rate shows it
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            center, token = gateways[n % len(gateways)]
            task = asyncio.create_task(one(center, token, ports[n % len(ports)]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
        await asyncio.gather(*pending)

    asyncio.run(run())


def _session(proxy: ServerProxy) -> requests.Session:
    import re

    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would replace the proxy's CA
    s.verify = str(proxy.ca)
    form = s.get(proxy.https + "/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = s.post(proxy.https + "/login", data={"username": "tinh", "password": PASSWORD, "csrf": token},
               allow_redirects=False)  # fmt: skip
    assert r.status_code == 302, r.text
    return s


def p95_ms(session: requests.Session, url: str) -> float:
    times: list[float] = []
    deadline = time.monotonic() + BUDGET_S
    session.get(url, timeout=150).raise_for_status()  # warm: the first request of a route loads its code
    while len(times) < SAMPLES and (len(times) < 3 or time.monotonic() < deadline):
        began = time.perf_counter()
        session.get(url, timeout=150).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.quantiles(times, n=20)[18]


def _range(days: int) -> str:
    return f"from={(LAST_DAY - timedelta(days=days - 1)).isoformat()}&to={LAST_DAY.isoformat()}"


async def _tls_rate(port: int, ca: Path, gateways: list[tuple[str, str]], seqs: dict[str, int],
                    seconds: float) -> float:  # fmt: skip
    """Sync requests per second through nginx over TLS, a new connection each, 48 at a time;
    `seqs`: each center's last seq (the paced load's)."""
    context = ssl.create_default_context(cafile=str(ca))
    templates = templates_for(gateways)
    done, failed, turn = 0, 0, 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, failed, turn
        while time.perf_counter() < deadline:
            center, token = gateways[turn % len(gateways)]
            turn += 1
            body = next_body(templates, seqs, center)
            head = (f"POST /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n")  # fmt: skip
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
            writer.write(head.encode() + body)
            status = (await reader.readline()).split(b" ", 2)[1]
            await reader.read()
            writer.close()
            done += 1
            failed += status != b"200"

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(48)))
    if failed:
        raise RuntimeError(f"{failed} of {done} sync requests through nginx failed")
    return done / (time.perf_counter() - started)


def figures() -> dict[str, float]:
    rng = random.Random(15)
    everyone = sorted(hierarchy.communes().values(), key=lambda c: c.code)
    province = [c for c in everyone if c.province_code == PROVINCE]
    detail = {c.code for c in province}
    folder = Path(tempfile.mkdtemp(prefix="bench-yearload-"))
    national_url, national_db = _postgres_url()
    province_url, province_db = _postgres_url()
    nodes, proxies, load_proc = [], [], None
    try:
        os.environ["GUNICORN_CMD_ARGS"] = f"--timeout {NODE_TIMEOUT_S}"  # read by gunicorn, beside rig's own args
        began = time.perf_counter()
        tokens = load(national_url, everyone, detail, rng)
        load(province_url, province, detail, rng)
        print(f"loaded {len(everyone):,} + {len(province):,} centers in {time.perf_counter() - began:.0f} s")
        for url, name in ((national_url, "national"), (province_url, "province")):
            pair = [Gunicorn(url, folder / f"{name}-{i}", "bench", workers=3, settings="proxy_hops = 1\n")
                    for i in range(2)]  # fmt: skip
            for node in pair:
                node.__enter__()
            nodes += pair
            proxies.append(ServerProxy([f"127.0.0.1:{n.port}" for n in pair], folder / f"nginx-{name}"))
        national, province_proxy = proxies
        stop, sent = multiprocessing.Event(), multiprocessing.Array("l", 2)
        load_proc = multiprocessing.Process(target=_paced_load, args=([n.port for n in nodes[:2]], tokens, RATE,
                                                                      stop, sent))  # fmt: skip
        load_proc.start()
        time.sleep(5)  # the load under way
        out: dict[str, float] = {}
        leader, provincial = _session(national), _session(province_proxy)
        center = f"c{province[0].code}"
        began, before = time.perf_counter(), sent[0]
        for days in (1, 31, 366):
            print(out, flush=True)
            out[f"dashboard_p95_ms_national_{days}d"] = p95_ms(
                leader, f"{national.https}/api/v1/overview?{_range(days)}"
            )
        out["dashboard_p95_ms_province_366d"] = p95_ms(
            provincial, f"{province_proxy.https}/api/v1/overview?{_range(366)}"
        )
        out["dashboard_p95_ms_center_366d"] = p95_ms(leader, f"{national.https}/api/v1/centers/{center}?{_range(366)}")
        exports = []
        for _ in range(3):
            t = time.perf_counter()
            provincial.get(f"{province_proxy.https}/export.xlsx?{_range(366)}").raise_for_status()
            exports.append(time.perf_counter() - t)
        out["export_xlsx_s_province_366d"] = statistics.median(exports)
        print(out, flush=True)
        out["dashboard_sync_load_rps"] = (sent[0] - before) / (time.perf_counter() - began)
        stop.set()
        load_proc.join(timeout=60)
        if sent[1]:
            raise RuntimeError(f"{sent[1]} of {sent[0]} paced sync requests failed")
        engine = engine_for(national_url)
        with engine.connect() as conn:
            last = dict(conn.exec_driver_sql("SELECT center_id, max(seq) FROM sync_batches GROUP BY center_id").all())
        engine.dispose()
        seqs = {center: last.get(center, 0) for center, _ in tokens}
        rate = asyncio.run(_tls_rate(national.https_port, national.ca, tokens, seqs, 10.0))
        out["server_sync_rps_postgres_2nodes"] = rate
        return out
    finally:
        if load_proc is not None and load_proc.is_alive():
            load_proc.terminate()
        for proxy in proxies:
            proxy.stop()
        for node in nodes:
            node.__exit__()
        _drop(national_db)
        _drop(province_db)


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:36} {value:,.1f}")
