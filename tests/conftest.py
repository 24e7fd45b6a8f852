"""Fixtures shared by every part's tests, named for what they give."""

from __future__ import annotations

import os
import secrets
import subprocess
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config import DEMO_CENTER, center_from_dict, load_center
from gateway.dispatch import OpenCounter, State, handle
from rig.broker import Broker, free_port

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=HCM).timestamp()

SMALL_CENTER_FILE = Path(__file__).parent / "data" / "small_center.toml"


def make_center(counters=None, **dispatch):
    """The small test center (tests/data/small_center.toml), optionally changed."""
    data = tomllib.loads(SMALL_CENTER_FILE.read_text(encoding="utf-8"))
    data["dispatch"].update(dispatch)
    if counters is not None:
        data["counters"] = counters
        numbers = {c["number"] for c in counters}
        data["devices"] = [d for d in data["devices"] if d.get("counter", numbers and min(numbers)) in numbers]
    return center_from_dict(data, source=str(SMALL_CENTER_FILE))


class Desk:
    """The core in memory with a hand-turned clock: what a test drives."""

    def __init__(self, config, now: float = MORNING, dispatcher=None):
        self.dispatcher = dispatcher  # when given, commands go through it and its journal
        self.state = State(config) if dispatcher is None else dispatcher.state
        self.now = now
        self.events: list = []  # everything folded in so far, as a journal would hold it

    def __call__(self, command, after: float = 1.0):
        self.now += after
        if self.dispatcher is not None:
            decision = self.dispatcher.handle(command, self.now)
            self.state = self.dispatcher.state
        else:
            decision = handle(self.state, command, self.now)
        if not decision.duplicate:
            self.events.extend(decision.events)
        return decision

    def issue(self, service: str, priority: str | None = None, after: float = 1.0) -> str:
        from gateway.dispatch import IssueTicket

        return self(IssueTicket(service, priority), after).events[-1].ticket

    def call(self, counter: int, after: float = 1.0) -> str | None:
        from gateway.dispatch import CallNext

        events = self(CallNext(counter), after).events
        return events[-1].ticket if events else None

    def serve(self, counter: int, after: float = 1.0) -> str | None:
        """Call the next ticket and serve it to the end: what a counter does all day."""
        from gateway.dispatch import Complete, StartService

        ticket = self.call(counter, after)
        if ticket is not None:
            self(StartService(counter))
            self(Complete(counter))
        return ticket

    def ticket(self, ticket_id: str):
        return self.state.tickets[ticket_id]


@pytest.fixture
def center_with():
    """Build the small test center with some dispatch rules changed."""
    return make_center


@pytest.fixture
def center():
    return make_center()


@pytest.fixture
def desk_for():
    """Make a Desk (the core in memory, a hand-turned clock) for a given center."""

    def make(config, open_counters: bool = True) -> Desk:
        d = Desk(config)
        if open_counters:
            for c in config.counters:
                d(OpenCounter(c.number), after=0)
        return d

    return make


@pytest.fixture
def desk(center, desk_for):
    """The small center with every counter open at 07:30."""
    return desk_for(center)


@pytest.fixture
def journaled_desk(center, tmp_path):
    """A Desk whose commands go through the real Dispatcher into a journal (tmp_path/journal.db)."""
    from gateway.dispatcher import Dispatcher

    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    yield Desk(center, dispatcher=dispatcher)
    dispatcher.close()


@pytest.fixture
def demo_center():
    """The bundled demo center (gateway/centers/demo.toml): 6 services, 8 counters."""

    return load_center(DEMO_CENTER)


# -- a real Mosquitto and simulated boards ---------------------------------------------------------
class Board:
    """A simulated board: a paho client with the board's own account."""

    def __init__(self, broker: Broker, device_id: str, center_id: str = "test", user: str | None = None):
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from gateway import protocol

        self.id, self.center, self.boot, self.seq = device_id, center_id, 1, 0
        self.messages: list[tuple[str, dict | bytes]] = []
        self.changed = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}", protocol=mqtt.MQTTv311)
        self.client.username_pw_set(user or device_id, broker.password(user or device_id))
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.topic = lambda leaf, device=device_id: protocol.topic(center_id, device, leaf)
        self.client.on_connect = lambda client, *args: client.subscribe(
            [(self.topic(leaf), 1) for leaf in ("ack", "cmd/#", "display")]
        )  # again after every reconnect: the session is clean
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert subscribed.wait(5), f"{device_id} could not subscribe"

    def _on_message(self, client, userdata, msg) -> None:
        import json

        leaf = msg.topic.split("/", 4)[4]
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = msg.payload
        with self.changed:
            self.messages.append((leaf, body))
            self.changed.notify_all()

    def publish(self, leaf: str, payload: bytes | str, device: str | None = None, qos: int = 1) -> None:
        info = self.client.publish(self.topic(leaf, device or self.id), payload, qos=qos)
        info.wait_for_publish(5)

    def event(self, body: dict, seq: int | None = None) -> str:
        import json

        if seq is None:
            self.seq += 1
            seq = self.seq
        event_id = f"{self.id}:{self.boot}:{seq}"
        self.publish("evt", json.dumps({"id": event_id, **body}))
        return event_id

    def press(self, button: int = 0, priority: bool = False, seq: int | None = None) -> str:
        return self.event({"kind": "press", "button": button, "priority": priority}, seq)

    def key(self, action: str, **fields) -> str:
        return self.event({"kind": "key", "action": action, **fields})

    def wait_for(self, leaf: str, match=lambda body: True, timeout: float = 5.0):
        import time

        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for got_leaf, body in self.messages:
                    if got_leaf == leaf and match(body):
                        return body
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.id}: no {leaf} matching within {timeout}s; got {self.messages}")
                self.changed.wait(left)

    def ack_for(self, event_id: str, timeout: float = 5.0) -> dict:
        return self.wait_for("ack", lambda b: isinstance(b, dict) and b.get("id") == event_id, timeout)

    def all(self, leaf: str) -> list:
        with self.changed:
            return [body for got_leaf, body in self.messages if got_leaf == leaf]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ResendingKiosk(Board):
    """A kiosk with an outbox, as the firmware has: every press is resent until its ack."""

    def __init__(self, *args, **kwargs):
        import threading

        super().__init__(*args, **kwargs)
        self.pending: dict[str, str] = {}
        self.acked: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._resender = threading.Thread(target=self._resend, daemon=True)
        self._resender.start()

    def press(self, button: int = 0, priority: bool = False, seq: int | None = None) -> str:
        import json

        with self._lock:
            self.seq += 1
            event_id = f"{self.id}:{self.boot}:{self.seq}"
            payload = json.dumps({"id": event_id, "kind": "press", "button": button, "priority": priority})
            self.pending[event_id] = payload
        self.client.publish(self.topic("evt"), payload, qos=1)
        return event_id

    def _on_message(self, client, userdata, msg) -> None:
        super()._on_message(client, userdata, msg)
        if msg.topic.endswith("/ack"):
            import json

            body = json.loads(msg.payload)
            with self._lock:
                if self.pending.pop(body["id"], None) is not None:
                    self.acked[body["id"]] = body

    def _resend(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                waiting = list(self.pending.values())
            for payload in waiting:
                self.client.publish(self.topic("evt"), payload, qos=1)

    @property
    def sent(self) -> set[str]:
        """Every press this kiosk made: each reached the broker or is still being resent."""
        with self._lock:
            return set(self.pending) | set(self.acked)

    def wait_all_acked(self, timeout: float) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.pending:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.pending)} presses never acknowledged: {sorted(self.pending)[:5]}")

    def close(self) -> None:
        self._stop.set()
        super().close()


@pytest.fixture
def broker(center, tmp_path):
    b = Broker(center, tmp_path / "broker")
    yield b
    b.stop()


@pytest.fixture
def boards(broker):
    """Open simulated boards by device id: boards("kiosk-1")."""
    opened = []

    def open_board(device_id: str, user: str | None = None) -> Board:
        board = Board(broker, device_id, user=user)
        opened.append(board)
        return board

    yield open_board
    for board in opened:
        board.close()


@pytest.fixture
def gateway(center, broker, tmp_path):
    """The gateway service in this process, on a fresh journal, connected to the broker."""
    from gateway.dispatcher import Dispatcher
    from gateway.service import GatewayService, MqttSettings

    dispatcher = Dispatcher.open(center, tmp_path / "journal.db")
    service = GatewayService(center, dispatcher, MqttSettings(port=broker.port, password=broker.password("gateway")))
    service.start()
    assert service.connected.wait(10), "the gateway did not connect"
    yield service
    service.stop()
    dispatcher.close()


@pytest.fixture
def kiosk_with_outbox(broker):
    """Open kiosks that resend every press until acknowledged: kiosk_with_outbox("kiosk-1")."""
    opened = []

    def open_kiosk(device_id: str) -> ResendingKiosk:
        kiosk = ResendingKiosk(broker, device_id)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.close()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def spki_hash(cert_pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate: what Chromium's
    --ignore-certificate-errors-spki-list pins."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    return base64.b64encode(
        hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()
    ).decode()


def _chromium(args: list[str]):
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + args, headless=True)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        yield page
        browser.close()


@pytest.fixture
def browser_page():
    """A page in Debian's headless Chromium, driven by Playwright."""
    yield from _chromium([])


@pytest.fixture
def trusting_browser_page(gateway_process):
    """A Chromium page that trusts exactly the gateway's web certificate (pinned by its SPKI hash, as a
    staff PC trusts the center's CA): HTTPS errors for any other certificate still stop it. Starts
    nginx in front of gateway_process."""
    proxy = gateway_process.behind_nginx().proxy
    yield from _chromium([f"--ignore-certificate-errors-spki-list={spki_hash(proxy.tls.cert.read_bytes())}"])


@pytest.fixture
def gateway_process(broker, tmp_path):
    """Start the real `hangcho-gateway run` as a process: start(), kill(), url."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    cli = Path(sys.executable).parent / "hangcho-gateway"

    class Process:
        def __init__(self):
            self.http_port = free_port()
            self.url = f"http://127.0.0.1:{self.http_port}"
            self.journal = tmp_path / "journal.db"
            self.log = tmp_path / "gateway.log"
            self.proc = None
            self.extra: list[str] = []  # more `run` options, e.g. --sync-url
            self.proxy = None
            self.config = SMALL_CENTER_FILE  # a test may point it at a changed copy before a restart

        def behind_nginx(self):
            """nginx in front, as in a center (rig/proxy.py): .proxy.http / .proxy.https / .proxy.ca."""
            from rig.proxy import Proxy

            self.proxy = Proxy(f"127.0.0.1:{self.http_port}", broker.files.secrets.parent, tmp_path / "nginx")
            self.extra += ["--https-port", str(self.proxy.https_port)]
            return self

        def start(self):
            args = [str(cli), "run", "--config", str(self.config), "--journal", str(self.journal)]
            args += ["--broker", f"127.0.0.1:{broker.port}", "--secrets", str(broker.files.secrets)]
            args += ["--http", f"127.0.0.1:{self.http_port}", "--audio", f"dir:{tmp_path / 'audio'}", *self.extra]
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(args, stdout=out, stderr=out)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(self.url + "/hall", timeout=0.5).close()
                    return self
                except OSError:
                    assert self.proc.poll() is None, self.log.read_text()
                    time.sleep(0.05)
            raise RuntimeError(self.log.read_text())

        def kill(self):
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

        def stop(self):
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:  # say where it hung, then make sure it is gone
                    self.proc.kill()
                    self.proc.wait()
                    raise AssertionError(f"the gateway did not stop within 15 s of SIGTERM: "
                                         f"{self.log.read_text()[-3000:]}") from None  # fmt: skip

    process = Process()
    yield process
    process.stop()
    if process.proxy is not None:
        process.proxy.stop()


class Postgres:
    """A PostgreSQL server for the tests: the one answering on 127.0.0.1:5432 (CI and this
    machine start it), else a private cluster this run starts on a free port and stops after.
    Each run works in its own database, created here and dropped at the end."""

    def __init__(self, tmp: Path):
        import psycopg

        self.proc_dir, self.port = None, 5432
        try:
            psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3).close()
        except psycopg.OperationalError:
            self._start_private(tmp)
        self.admin = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        self.database = f"hangcho_test_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _start_private(self, tmp: Path) -> None:
        import glob
        import shutil

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert bins, "no PostgreSQL server answers on 127.0.0.1:5432 and none is installed (make test installs it)"
        bindir = Path(bins[-1]).parent
        self.proc_dir, self.port = tmp / "pgdata", free_port()
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        tmp.mkdir(parents=True, exist_ok=True)
        if as_user:
            shutil.chown(tmp, "postgres")
        subprocess.run([*as_user, bindir / "initdb", "-D", self.proc_dir, "-U", "postgres", "-A", "trust"],
                       check=True, capture_output=True)  # fmt: skip
        opts = f"-p {self.port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", self.proc_dir, "-o", opts, "-w", "start", "-l",
                        tmp / "pg.log"], check=True, capture_output=True)  # fmt: skip
        self._pg_ctl = [*as_user, bindir / "pg_ctl", "-D", self.proc_dir, "-m", "fast", "-w", "stop"]

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.proc_dir:
            subprocess.run(self._pg_ctl, capture_output=True)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    pg = Postgres(tmp_path_factory.mktemp("postgres"))
    yield pg
    pg.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def server_db(request, tmp_path):
    """A database URL for the central server, empty: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    yield _empty(request.getfixturevalue("postgres"))


@pytest.fixture
def postgres_db(postgres):
    """An empty PostgreSQL database URL, for what only a shared database server can show (several
    server nodes on one database)."""
    return _empty(postgres)


def _empty(pg) -> str:
    """`pg`'s database with the previous test's tables dropped: a clean slate."""
    from sqlalchemy import create_engine, text

    from server import schema

    engine = create_engine(pg.url)
    with engine.begin() as conn:
        conn.execute(
            text("DROP TABLE IF EXISTS " + ", ".join(t.name for t in schema.metadata.sorted_tables) + " CASCADE")
        )
    engine.dispose()
    return pg.url


@pytest.fixture
def scored():
    """scored(score): a fault's score (faults/checker.py), recorded for `make faults`' report;
    the test fails unless every count is 0 and the integrity check is ok."""
    from faults.checker import Score

    def check(score: Score) -> Score:
        score.record()
        print(f"{score.fault}: {score.rounds} rounds, {score.operations} operations, lost {score.lost}, "
              f"duplicated {score.duplicated}, unexpected {score.unexpected}, integrity {score.integrity}")  # fmt: skip
        assert score.clean, score
        return score

    return check
