"""Sync requests per second the central server takes under gunicorn, on SQLite and PostgreSQL.

Realistic bodies from many simulated gateways (each with its own token and center): a live
snapshot (6 services, 8 counters, 25 tickets) with the 2 hourly buckets and the counter-day a
10-second sync usually carries, about 4 KB. Each request opens its own connection, as a gateway
does. Figures: server_sync_rps_sqlite, server_sync_rps_postgres, server_sync_p99_ms (PostgreSQL),
and the floor server_noop_rps (bench/noop_app.py: the same workers and load, an endpoint that
only reads and parses the body) with server_sync_postgres_share_of_noop_pct (target ≥ 40), the
three servers running side by side and measured in turns. Run alone with `python -m bench.server_sync`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.sync import empty_bucket, empty_counter_day
from server import accounts, migrations
from server.db import engine_for

GATEWAYS = 3321  # every commune-level center in the country
IN_FLIGHT = 48
SECONDS = 8.0
WORKERS = 5  # gunicorn's (2 x cores) + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _body(center: str, seq: int, now: float) -> bytes:
    services = "ABCDEF"
    snapshot = {
        "taken_at": now, "day": "2026-11-23",
        "waiting": [{"service": c, "name": f"Dịch vụ {c}", "count": 4, "longest_wait_s": 900} for c in services],
        "counters": [{"counter": n, "status": "open", "ticket": f"{services[n % 6]}{n:03d}"} for n in range(1, 9)],
        "devices": {"online": 11, "total": 12},
        "alerts": [{"device": "kiosk-2", "kind": "paper_low", "message": "Máy in của kiosk-2 sắp hết giấy"}],
        "tickets": {f"{services[n % 6]}{100 + n:03d}": {"state": "waiting", "ahead": n // 6, "eta_min": [5, 15]}
                    for n in range(25)},
    }  # fmt: skip
    hist = [0] * 23
    hist[5], hist[8] = 12, 3
    buckets = [empty_bucket("2026-11-23", 9, c) | {"issued": 15 + seq % 7, "called": 15, "served": 12,
               "resolved": 10, "wait_sum_s": 8000, "wait_hist": hist} for c in "AB"]  # fmt: skip
    counters = [empty_counter_day("2026-11-23", 3) | {"served": 12 + seq % 5, "resolved": 10}]
    body = {"version": 1, "center": center, "seq": seq, "buckets": buckets, "counters": counters, "snapshot": snapshot}
    return json.dumps(body, ensure_ascii=False).encode()


def templates_for(gateways: list[tuple[str, str]]) -> dict[str, bytes]:
    """Each center's body, made once: only its seq and clock change from one request to the next."""
    return {center: _body(center, 987654321, 1234567890.5) for center, _ in gateways}


def next_body(templates: dict[str, bytes], seqs: dict[str, int], center: str) -> bytes:
    """The center's next batch: the seq after its last, taken now."""
    seqs[center] += 1
    body = templates[center].replace(b"987654321", str(seqs[center]).encode(), 1)
    return body.replace(b"1234567890.5", repr(time.time()).encode(), 1)


def _prepare(url: str) -> list[tuple[str, str]]:
    engine = engine_for(url)
    migrations.upgrade(engine)
    gateways = []
    with engine.begin() as conn:
        for n in range(GATEWAYS):
            center = f"xa-{n:04d}"
            accounts.add_center(conn, center, f"Trung tâm PVHCC {n}", f"Xã {n // 2}")
            gateways.append((center, accounts.add_gateway(conn, center)))
    engine.dispose()
    return gateways


class _Exchange(asyncio.Protocol):
    """One request on its own connection, read until the server closes it: an asyncio protocol
    rather than streams, so the load generator takes less of the cores it shares."""

    def __init__(self, request: bytes):
        self.request, self.data = request, bytearray()
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(bytes(self.data))


async def _one(port: int, path: str, token: str, body: bytes) -> int:
    head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: _Exchange(head.encode() + body), "127.0.0.1", port)
    answer = await protocol.done
    return int(answer.split(b" ", 2)[1]) if answer else 0


async def _load(port: int, gateways: list[tuple[str, str]], seconds: float,
                seqs: dict[str, int]) -> tuple[int, list[float], int]:  # fmt: skip
    """`seqs` carries on from the last round: a seq sent again with the same body is a duplicate,
    answered without writing, and would make the figure that of the cheap path."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    turn = 0
    # Bodies are made before the clock starts, so the load generator spends its share of the two
    # cores sending, not serialising; only the seq changes from one request to the next.
    templates = templates_for(gateways)

    async def worker() -> None:
        nonlocal errors, turn
        while time.perf_counter() < deadline:
            center, token = gateways[turn % len(gateways)]
            turn += 1
            body = next_body(templates, seqs, center)
            began = time.perf_counter()
            status = await _one(port, "/api/v1/sync", token, body)
            latencies.append(time.perf_counter() - began)
            errors += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return round(len(latencies) / (time.perf_counter() - started)), latencies, errors


SERVER_APP = "server.app:create_app()"


def _gunicorn(url: str, port: int, instance: Path, app: str = SERVER_APP) -> subprocess.Popen:
    env = {**os.environ, "HANGCHO_SERVER_DATABASE_URL": url, "HANGCHO_SERVER_SECRET_KEY": "bench",
           "HANGCHO_SERVER_INSTANCE": str(instance)}  # fmt: skip
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--backlog", "2048",
                             "--log-level", "warning", app], env=env)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(1.0)  # every worker up
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def measure(targets: dict[str, tuple[str, str]], rounds: int = 3) -> dict[str, dict[str, float]]:
    """Each target (name: database URL and app) under its own gunicorn, all started first; then
    their rounds take turns (the floor's, SQLite's, PostgreSQL's, the floor's again …), so that
    on a machine shared with other work each meets the same weather, and the share of the floor
    compares figures measured minutes, not seconds, apart no more. An idle gunicorn costs
    nothing to the one measured beside it."""
    folder = Path(tempfile.mkdtemp(prefix="bench-server-"))
    running: dict[str, tuple[list[tuple[str, str]], int, dict[str, int]]] = {}
    procs: list[subprocess.Popen] = []
    try:
        for name, (url, app) in targets.items():
            gateways = _prepare(url)
            port = _free_port()
            procs.append(_gunicorn(url, port, folder, app))
            running[name] = (gateways, port, dict.fromkeys((c for c, _ in gateways), 0))
        for gateways, port, seqs in running.values():
            asyncio.run(_load(port, gateways, 2.0, seqs))  # warm up
        rates: dict[str, list[int]] = {name: [] for name in running}
        p99s: dict[str, list[float]] = {name: [] for name in running}
        errors = 0
        for _ in range(rounds):
            for name, (gateways, port, seqs) in running.items():
                rate, latencies, failed = asyncio.run(_load(port, gateways, SECONDS, seqs))
                rates[name].append(rate)
                p99s[name].append(statistics.quantiles(latencies, n=100)[98] * 1000)
                errors += failed
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    if errors:
        raise RuntimeError(f"{errors} sync requests failed during the benchmark")
    return {name: {"rps": statistics.median(rates[name]), "p99_ms": statistics.median(p99s[name])} for name in running}


def _postgres_url() -> tuple[str, str]:
    import psycopg

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = f"hangcho_bench_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def figures() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    url, name = _postgres_url()
    try:
        m = measure({"noop": (f"sqlite:///{folder / 'noop.db'}", "bench.noop_app:app"),
                     "sqlite": (f"sqlite:///{folder / 'server.db'}", SERVER_APP),
                     "postgres": (url, SERVER_APP)})  # fmt: skip
    finally:
        _drop(name)
    noop, sqlite, postgres = m["noop"], m["sqlite"], m["postgres"]
    return {"server_noop_rps": noop["rps"], "server_noop_p99_ms": noop["p99_ms"],
            "server_sync_rps_sqlite": sqlite["rps"], "server_sync_sqlite_p99_ms": sqlite["p99_ms"],
            "server_sync_rps_postgres": postgres["rps"], "server_sync_p99_ms": postgres["p99_ms"],
            "server_sync_postgres_share_of_noop_pct": 100.0 * postgres["rps"] / noop["rps"]}  # fmt: skip


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:32} {value:,.1f}")
